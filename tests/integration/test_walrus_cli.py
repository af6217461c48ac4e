"""`og-indexer enrich` as a user meets it: what it prints, and one-line errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import orjson
from click.testing import CliRunner

from indexer.cli import main
from indexer.devnet import aggregator
from indexer.devnet.anvil import free_port

SERVED, EXPIRED = "S" * 43, "E" * 43


def _invoke(args: list[str], dsn: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--database-url", dsn, *args], catch_exceptions=False)
    return result.exit_code, result.output


async def _settle(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "insert into og.settlements (chain_id, block_number, block_hash, block_time, tx_hash, log_index, relay,"
            " kind, inferences, tee_id, eth_address, tee_timestamp, walrus_blob_id, verified_on_chain, tx_from,"
            " trusted) select 10740, n, '0xb', now(), '0xt', 0, '0xr', 'individual', 1, '0xaa', '0xbb', 7, b, true,"
            " '0xf', true from unnest($1::text[]) with ordinality as x(b, n)",
            [SERVED, EXPIRED],
        )
    finally:
        await conn.close()


def test_enrich_prints_outcomes_and_rows_per_status(fresh_dsn: str, tmp_path: Path) -> None:
    assert _invoke(["migrate"], fresh_dsn)[0] == 0
    asyncio.run(_settle(fresh_dsn))
    url, started = aggregator.start_process(tmp_path, free_port())
    try:
        assert started
        payload = {"input": {"model": "openai/gpt-5-mini"}, "output": {"usage": {"total_tokens": 9}},
                   "teeId": "0xaa", "timestamp": "7", "ethAddress": "0xBB"}
        (tmp_path / "walrus" / SERVED).write_bytes(orjson.dumps(payload))
        code, out = _invoke(["enrich", "--aggregator", url], fresh_dsn)
        assert code == 0, out
        assert f"enrich: 2 blob(s) requested from {url}" in out and "outcomes: fetched 1, missing 1" in out
        assert "walrus_individual  parsed 1" in out
        code, out = _invoke(["enrich", "--aggregator", url], fresh_dsn)
        assert "enrich: 0 blob(s) requested" in out
        code, out = _invoke(["enrich", "--reparse"], fresh_dsn)
        assert code == 0 and "stored blobs (no request)" in out and "walrus_individual  parsed 1" in out
    finally:
        assert aggregator.stop_process(tmp_path)


def test_enrich_errors_are_one_line(fresh_dsn: str) -> None:
    code, out = _invoke(["enrich", "--aggregator", "ftp://x"], fresh_dsn)
    assert code == 1 and "Traceback" not in out and "must start with http" in out
    code, out = _invoke(["enrich", "--reparse", "--retry-missing"], fresh_dsn)
    assert code == 2 and "cannot be combined" in out
