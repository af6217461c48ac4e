"""An install from a wheel (a release, or pip install git+URL) works without the source tree: the
wheel carries abis/ and sql/ as data files, and the CLI reads its ABIs and migrates a database
from there. Built and installed offline, in a scratch virtualenv whose dependencies are this one's."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(".git", ".venv", ".tools", ".devnet", "build", "*.egg-info", "__pycache__",
                              ".pytest_cache", ".mypy_cache", ".ruff_cache", "tests")


def _run(*cmd: str | Path, cwd: Path | None = None) -> str:
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, timeout=300)
    assert p.returncode == 0, f"{cmd} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}"
    return p.stdout


def test_a_wheel_install_reads_its_abis_and_sql_from_its_data_files(tmp_path: Path, fresh_dsn: str) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=SKIP)  # a copy: the build leaves nothing in the checkout
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", wheels, src)
    (wheel,) = wheels.glob("og_indexer-*.whl")

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    # --ignore-installed: with --prefix alone, pip would first uninstall this environment's og-indexer
    _run(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed",
         "--prefix", venv, wheel)
    python = venv / "bin" / "python"
    purelib = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                        cwd=tmp_path).strip())
    (purelib / "_og_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # click, asyncpg, …
    shutil.rmtree(src)  # nothing of the source tree is left to fall back on

    where = _run(python, "-c", "import indexer, indexer.config as c, indexer.store as s;"
                 " print(indexer.__file__); print(c.ABI_DIR); print(s.SQL_DIR)", cwd=tmp_path).split()
    assert all(Path(w).is_relative_to(venv) for w in where), where
    assert Path(where[1]) == venv / "share" / "og-indexer" / "abis"
    assert sorted(p.name for p in Path(where[1]).iterdir()) == sorted(p.name for p in (ROOT / "abis").iterdir())

    cli = (python, "-c", "from indexer.entry import main; main()", "--database-url", fresh_dsn)
    out = _run(*cli, "migrate", cwd=tmp_path)  # not the checkout: python -c puts the cwd on sys.path
    assert "0001_schema" in out, out
    events = _run(python, "-c", "from indexer.abi import event_map; from indexer.config import load_config;"
                  " cfg = load_config(None, {});"
                  " print(sum(len(event_map(c.abi_files)) for n in ('opengradient', 'base')"
                  " for c in cfg.chain(n).contracts))", cwd=tmp_path)
    assert int(events) > 40  # every watched contract's events, decoded from the installed ABI files
