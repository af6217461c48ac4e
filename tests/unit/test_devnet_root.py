"""The devnet keeps its state in the source checkout, or in the current directory for a wheel."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.devnet.anvil import PROJECT_ROOT, devnet_root


def test_a_checkout_keeps_devnet_state_beside_pyproject() -> None:
    assert (PROJECT_ROOT / "pyproject.toml").is_file()
    assert devnet_root(PROJECT_ROOT / "indexer" / "devnet") == PROJECT_ROOT


def test_a_wheel_install_keeps_devnet_state_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "lib" / "python3.11" / "site-packages" / "indexer" / "devnet"
    package.mkdir(parents=True)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert devnet_root(package) == work
