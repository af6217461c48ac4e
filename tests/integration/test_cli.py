"""The command line as a user meets it: one-line errors, chain-id checks, metrics, embedded Postgres."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import pytest
from click.testing import CliRunner
from pipeline_helpers import devnet_config, fresh_pool

from indexer import db
from indexer.cli import main
from indexer.follow import FollowOptions
from indexer.service import run_service

if TYPE_CHECKING:
    from devnet_fixtures import DevnetPair

pytest_plugins = ("devnet_fixtures",)


def invoke(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    return result.exit_code, result.output


def assert_one_line_error(code: int, output: str, *fragments: str) -> None:
    assert code != 0
    assert "Traceback" not in output
    error_lines = [line for line in output.splitlines() if line.startswith("Error")]
    assert len(error_lines) == 1, output
    for f in fragments:
        assert f in error_lines[0], output


def test_rpc_of_the_wrong_chain_is_refused_naming_both_ids(devnet_pair: DevnetPair, server_dsn: str) -> None:
    env = {"DATABASE_URL": server_dsn, "OG_RPC_URL": devnet_pair.urls["base"]}
    code, out = invoke(["backfill", "--chain", "opengradient", "--to", "1"], env)
    assert_one_line_error(code, out, "serves chain id 8453", "configured with id 10740")


def test_bad_arguments_and_unreachable_services_are_one_line(server_dsn: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": server_dsn, "BASE_RPC_URL": "http://127.0.0.1:9"}
    assert_one_line_error(*invoke(["backfill", "--chain", "base", "--from", "-5"], env), "--from")
    assert_one_line_error(*invoke(["backfill", "--chain", "base", "--from", "9", "--to", "3"], env), "above")
    assert_one_line_error(*invoke(["backfill", "--chain", "base", "--to", "3"], env), "127.0.0.1:9")
    assert_one_line_error(*invoke(["report", "--window", "1y"], env), "--window")
    bad = tmp_path / "bad.toml"
    bad.write_text("[chains.base]\nmax_block_range = -1\n")
    assert_one_line_error(*invoke(["--config", str(bad), "status", "--offline"], env), "max_block_range")
    assert_one_line_error(*invoke(["reset"], env), "--yes")
    code, out = invoke(["--database-url", "postgresql://nobody@127.0.0.1:9/x", "status", "--offline"], {})
    assert_one_line_error(code, out)


def test_secrets_never_printed(server_dsn: str) -> None:
    env = {"DATABASE_URL": server_dsn, "BASE_RPC_URL": "https://rpc.example/SECRET-KEY"}
    code, out = invoke(["config"], env)
    assert code == 0 and "SECRET-KEY" not in out and "https://rpc.example/***" in out


async def test_metrics_endpoint_reports_head_tip_and_rpc_calls(devnet: DevnetPair, server_dsn: str) -> None:
    devnet.simulate(days=1, seed=3)
    cfg = devnet_config(devnet.urls)
    stop = asyncio.Event()
    port = 20000 + int(time.time()) % 20000
    async with fresh_pool(server_dsn) as pool:
        task = asyncio.create_task(
            run_service(pool, [cfg.chain("base")], FollowOptions(poll_min_s=0.05), metrics_port=port, stop=stop)
        )
        try:
            async with aiohttp.ClientSession() as s:
                for _ in range(200):
                    await asyncio.sleep(0.05)
                    try:
                        async with s.get(f"http://127.0.0.1:{port}/metrics") as r:
                            text = await r.text()
                    except aiohttp.ClientError:
                        continue
                    if 'og_indexer_lag_blocks{chain="base"} 0' in text:
                        break
            assert 'og_indexer_indexed_block{chain="base"}' in text
            assert 'og_indexer_rpc_calls_total{chain="base",method="eth_getLogs"}' in text
            assert 'og_indexer_lag_blocks{chain="base"} 0' in text
        finally:
            stop.set()
            await task


def test_embedded_postgres_starts_then_is_reused(server_dir: Path) -> None:
    pytest.importorskip("pgserver")
    tmp_path = server_dir
    t0 = time.monotonic()
    first = db.embedded_dsn(tmp_path / "pg")
    started = time.monotonic() - t0
    t1 = time.monotonic()
    second = db.embedded_dsn(tmp_path / "pg")
    reused = time.monotonic() - t1
    assert first == second and "host=" in first

    async def query() -> int:
        pool = await db.create_pool(first)
        try:
            return int(await pool.fetchval("select 41 + 1"))
        finally:
            await pool.close()

    try:
        assert asyncio.run(query()) == 42
        assert reused < started  # the running server was found, not started again
    finally:
        assert db.stop_embedded(tmp_path / "pg")


def test_a_chain_defined_in_toml_is_accepted_by_commands_and_an_unknown_one_is_one_line(
    fresh_dsn: str, tmp_path: Path
) -> None:
    cfg = tmp_path / "og.toml"
    cfg.write_text('[chains.mychain]\nchain_id = 31337\nrpc_urls = ["http://127.0.0.1:9"]\n')
    env = {"DATABASE_URL": fresh_dsn}
    code, out = invoke(["--config", str(cfg), "status", "--chain", "mychain", "--offline"], env)
    assert code == 0, out
    assert "mychain" in out
    assert_one_line_error(*invoke(["--config", str(cfg), "status", "--chain", "nosuch", "--offline"], env),
                          "unknown chain 'nosuch'", "mychain")
