"""The CLI turns og-indexer's own errors into one line and lets a programming error keep its traceback."""

from __future__ import annotations

import click
from click.testing import CliRunner

from indexer.catalog import CatalogError
from indexer.cli import Group
from indexer.config import ConfigError
from indexer.decode import DecodeError
from indexer.errors import OgIndexerError
from indexer.report import ReportError
from indexer.rpc import RpcError
from indexer.store import StoreError
from indexer.sync import SyncError


def _cli(exc: BaseException) -> click.Group:
    @click.group(cls=Group)
    def cli() -> None:
        pass

    @cli.command("boom")
    def boom() -> None:
        raise exc

    return cli


def test_every_user_facing_error_is_an_og_indexer_error() -> None:
    for cls in (ConfigError, RpcError, StoreError, SyncError, DecodeError, CatalogError, ReportError):
        assert issubclass(cls, OgIndexerError), cls


def test_a_user_facing_error_is_one_line_on_stderr() -> None:
    result = CliRunner().invoke(_cli(ConfigError("rpc_urls: not a URL\nsecond line")), ["boom"])
    assert result.exit_code == 1
    assert result.output == "Error: ConfigError: rpc_urls: not a URL second line\n"


def test_a_programming_error_surfaces_as_a_bug_with_its_traceback() -> None:
    for bug in (KeyError("chain"), ValueError("stray"), TypeError("oops")):
        result = CliRunner().invoke(_cli(bug), ["boom"])
        assert result.exit_code == 1
        assert result.exception is bug  # not turned into a polite one-liner
        assert "Error:" not in result.output
