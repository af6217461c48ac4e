"""Walrus client against the loopback aggregator stand-in: every fault kind recovers or ends in its
final status, fail-over between aggregators, the size cap."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from indexer.devnet.aggregator import Faults, StandIn
from indexer.devnet.anvil import free_port
from indexer.walrus.client import FetchOptions, WalrusClient
from indexer.walrus.rows import PAYLOAD_ROW_TYPES, BlobRow

BLOB = "A" * 42 + "g"
BODY = b'{"input": {"model": "gpt-5-mini"}}'
FAST = FetchOptions(backoff_s=0.001, timeout_s=5.0)


@pytest.fixture
def blob_dir(tmp_path: Path) -> Path:
    (tmp_path / BLOB).write_bytes(BODY)
    return tmp_path


async def _standin(blob_dir: Path, faults: Faults) -> StandIn:
    return await StandIn(blob_dir, faults).start()


@pytest.fixture
async def serve(blob_dir: Path) -> AsyncIterator[list[StandIn]]:
    started: list[StandIn] = []
    yield started
    for s in started:
        await s.stop()


async def _fetch(serve: list[StandIn], blob_dir: Path, faults: Faults, opts: FetchOptions = FAST,
                 blob: str = BLOB) -> tuple[StandIn, BlobRow]:
    s = await _standin(blob_dir, faults)
    serve.append(s)
    async with WalrusClient([s.url], opts) as client:
        return s, await client.fetch(blob)


@pytest.mark.parametrize(
    ("faults", "status", "http", "attempts"),
    [
        (Faults(), "fetched", 200, 1),
        (Faults(not_found_first=2), "fetched", 200, 3),  # a cached 404 right after upload
        (Faults(not_found_first=3), "missing", 404, 3),  # expired or never stored
        (Faults(unavailable_first=4), "fetched", 200, 5),  # 503 BLOB_UNAVAILABLE is temporary
        (Faults(unavailable_first=9), "failed", 503, 5),  # asked again by the next enrich
        (Faults(internal_first=1), "fetched", 200, 2),
        (Faults(truncate_first=2), "fetched", 200, 3),  # a reset mid-body
        (Faults(too_large=frozenset({BLOB})), "too_large", 403, 1),
        (Faults(blocked=frozenset({BLOB})), "blocked", 451, 1),
    ],
)
async def test_each_fault_recovers_or_ends_in_its_final_status(
    serve: list[StandIn], blob_dir: Path, faults: Faults, status: str, http: int, attempts: int
) -> None:
    s, row = await _fetch(serve, blob_dir, faults)
    assert (row.status, row.http_status, row.attempts) == (status, http, attempts)
    assert s.stats.reads[BLOB] == attempts
    if status == "fetched":
        assert row.body == BODY and row.size_bytes == len(BODY) and row.last_error is None
    else:
        assert row.body is None and row.last_error is not None and row.last_error.startswith(f"HTTP {http}")


async def test_missing_blob_keeps_the_aggregators_error(serve: list[StandIn], blob_dir: Path) -> None:
    _, row = await _fetch(serve, blob_dir, Faults(), blob="B" * 43)
    assert row.status == "missing" and "NOT_FOUND" in (row.last_error or "")


async def test_oversized_body_is_cut_at_the_cap_and_marked(serve: list[StandIn], blob_dir: Path) -> None:
    faults = Faults(oversized=frozenset({BLOB}), oversize_bytes=50_000)
    _, row = await _fetch(serve, blob_dir, faults, FetchOptions(max_bytes=1000, backoff_s=0.001))
    assert (row.status, row.size_bytes) == ("truncated", 1000)
    assert (row.body or b"")[: len(BODY)] == BODY


async def test_slow_aggregator_times_out_and_is_retried_then_failed(serve: list[StandIn], blob_dir: Path) -> None:
    opts = FetchOptions(timeout_s=0.1, retry_attempts=2, backoff_s=0.001)
    s, row = await _fetch(serve, blob_dir, Faults(latency_s=0.5), opts)
    assert (row.status, row.attempts, row.http_status) == ("failed", 2, None)
    assert "Timeout" in (row.last_error or "") and s.stats.reads[BLOB] == 2


async def test_fails_over_to_the_next_aggregator(serve: list[StandIn], blob_dir: Path) -> None:
    s = await _standin(blob_dir, Faults())
    serve.append(s)
    dead = f"http://127.0.0.1:{free_port()}"
    async with WalrusClient([dead, s.url], FAST) as client:
        row = await client.fetch(BLOB)
    assert (row.status, row.attempts, row.aggregator) == ("fetched", 2, s.url)


async def test_a_string_that_is_no_blob_id_is_rejected_without_a_request(serve: list[StandIn], blob_dir: Path) -> None:
    s, row = await _fetch(serve, blob_dir, Faults(), blob="0x" + "00" * 20)
    assert (row.status, row.attempts) == ("rejected", 0) and s.stats.requests == 0


async def test_walrus_row_types_declare_their_tables_columns_in_order(pool: asyncpg.Pool) -> None:
    for rt in (BlobRow, *PAYLOAD_ROW_TYPES):
        recs = await pool.fetch(
            "select column_name from information_schema.columns"
            " where table_schema = 'og' and table_name = $1 order by ordinal_position", rt.TABLE)
        assert list(rt.columns()) == [r["column_name"] for r in recs], rt.TABLE
