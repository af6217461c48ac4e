"""What the CLI and the decode process import at start-up: not the devnet's encoder, not eth-abi.
A decode process re-imports the console script that started its parent as __mp_main__: that
script must load nothing but its tiny entry module."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("eth_abi", "eth_utils", "indexer.devnet.cli")


@pytest.mark.parametrize("module", ["indexer.cli", "indexer.encode"])
def test_start_up_imports_stay_light(module: str) -> None:
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                           check=True).stdout))
    assert not [m for m in HEAVY if m in loaded]


def test_a_decode_process_importing_the_console_script_loads_no_cli() -> None:
    script = Path(sys.executable).parent / "og-indexer"
    if not script.exists():  # not in the venv's bin: wherever the install put it
        found = shutil.which("og-indexer")
        assert found is not None, "og-indexer is not installed (pip install -e .)"
        script = Path(found)
    code = (
        "import json, runpy, sys; runpy.run_path(sys.argv[1], run_name='__mp_main__');"  # what spawn does
        " print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(script)], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert "indexer.entry" in loaded
    assert not [m for m in ("indexer.cli", "click", "asyncpg", "aiohttp") if m in loaded]
