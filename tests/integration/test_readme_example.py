"""The README's Python example (typed read models over asyncpg) runs as written against a real,
indexed database and prints what the view holds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import asyncpg

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    text = README.read_text()
    found = re.search(r"<!-- readme-example: python-read-models[^>]*-->\n```python\n(.*?)```", text, re.S)
    assert found, "the README lost its read-model example"
    return found.group(1)


async def test_readme_read_model_example_runs(pool: asyncpg.Pool, fresh_dsn: str, tmp_path: Path) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "insert into og.payments (chain_id, block_number, block_hash, block_time, tx_hash, log_index, token,"
            " payer, payee, amount_raw, amount_opg, is_x402) select 8453, d, '0xh', timestamptz '2026-05-01'"
            " + make_interval(days => d), '0xt', 0, '0xopg', '0xpayer', '0xpayto', 10, 0.5, true"
            " from generate_series(1, 2) d"
        )
    script = tmp_path / "example.py"
    script.write_text(_example())
    done = subprocess.run(
        [sys.executable, str(script)], env={**os.environ, "DATABASE_URL": fresh_dsn},
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "0xpayer 2 1.0\n"
