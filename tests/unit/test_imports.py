"""What the CLI and the decode process import at start-up: not the devnet's encoder, not eth-abi.
The decode process re-imports the CLI as its __main__, so both weigh on every large backfill."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("eth_abi", "eth_utils", "indexer.devnet.cli")


@pytest.mark.parametrize("module", ["indexer.cli", "indexer.encode"])
def test_start_up_imports_stay_light(module: str) -> None:
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                           check=True).stdout))
    assert not [m for m in HEAVY if m in loaded]
