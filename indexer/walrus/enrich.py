"""The enrichment pass: fetch every pending blob, keep it, derive payload rows; and its run loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from ..store import Conn
from ..tables import Row
from . import store
from .client import FetchOptions, WalrusClient
from .parse import parse
from .rows import BlobRow

log = logging.getLogger("og_indexer.walrus")

WRITE_EVERY = 256  # blob outcomes per write transaction
PARSE_PAGE = 500  # settlements parsed per read


@dataclass
class EnrichResult:
    requested: int = 0  # blobs asked for (each may take several HTTP attempts)
    outcomes: Counter[str] = field(default_factory=Counter)  # blob status -> blobs
    derived: Counter[str] = field(default_factory=Counter)  # table -> rows written
    elapsed_s: float = 0.0


async def derive(conn: Conn, blob_ids: Sequence[str] | None = None) -> Counter[str]:
    """Parse the stored payload of every settlement that has none derived yet (only those of
    blob_ids when given) and insert the rows; no network."""
    written: Counter[str] = Counter()
    after = (-1, -1, -1)
    while True:
        page = await store.unparsed(conn, after, blob_ids, PARSE_PAGE)
        if not page:
            return written
        rows: list[Row] = []
        for ref, body, truncated in page:
            head, leaves = parse(ref, body, truncated)
            rows.append(head)
            rows.extend(leaves)
        async with conn.transaction():
            written.update(await store.save_payload_rows(conn, rows))
        last = page[-1][0]
        after = (last.chain_id, last.block_number, last.log_index)


async def enrich(
    pool: asyncpg.Pool,
    urls: Sequence[str],
    opts: FetchOptions | None = None,
    *,
    retry_missing: bool = False,
    reparse: bool = False,
) -> EnrichResult:
    """One pass. reparse: drop every derived row and rebuild them from the stored blobs without a
    request. Otherwise fetch the pending blobs (at most opts.concurrency at once), write their
    outcomes and derived rows every WRITE_EVERY blobs, then derive whatever stored blob still lacks
    its rows (after a reorg or redecode)."""
    began = time.monotonic()
    result = EnrichResult()
    if reparse:
        async with pool.acquire() as conn, conn.transaction():
            await store.delete_payload_rows(conn)
    else:
        async with pool.acquire() as conn:
            pending = await store.pending_blobs(conn, retry_missing=retry_missing)
        if pending:
            result.requested = len(pending)
            await _fetch_all(pool, urls, opts or FetchOptions(), pending, result)
    async with pool.acquire() as conn:
        result.derived.update(await derive(conn))
    result.elapsed_s = time.monotonic() - began
    level = logging.INFO if result.requested or result.derived else logging.DEBUG  # idle passes stay quiet
    log.log(level, "enrich requested=%d outcomes=%s derived=%s elapsed_ms=%d", result.requested,
            dict(result.outcomes), dict(result.derived), result.elapsed_s * 1000)
    return result


async def _fetch_all(pool: asyncpg.Pool, urls: Sequence[str], opts: FetchOptions, pending: Sequence[str],
                     result: EnrichResult) -> None:
    todo: asyncio.Queue[str] = asyncio.Queue()
    for b in pending:
        todo.put_nowait(b)
    done: asyncio.Queue[BlobRow | None] = asyncio.Queue(maxsize=2 * WRITE_EVERY)

    async def worker(client: WalrusClient) -> None:
        while True:
            try:
                blob_id = todo.get_nowait()
            except asyncio.QueueEmpty:
                return
            await done.put(await client.fetch(blob_id))

    async def write(rows: list[BlobRow]) -> None:
        async with pool.acquire() as conn:
            async with conn.transaction():
                await store.save_blobs(conn, rows)
            result.derived.update(await derive(conn, [r.blob_id for r in rows]))
        result.outcomes.update(r.status for r in rows)

    async def writer() -> None:
        rows: list[BlobRow] = []
        since = time.monotonic()
        while (row := await done.get()) is not None:
            rows.append(row)
            # full, or idle with rows waiting over a second (run mode: keep what was fetched)
            if len(rows) >= WRITE_EVERY or (done.empty() and time.monotonic() - since > 1.0):
                await write(rows)
                rows, since = [], time.monotonic()
        if rows:
            await write(rows)

    async with WalrusClient(urls, opts) as client:
        writing = asyncio.create_task(writer())
        try:
            workers = [asyncio.create_task(worker(client)) for _ in range(min(opts.concurrency, len(pending)))]
            try:
                await asyncio.gather(*workers)
            finally:
                for w in workers:
                    w.cancel()
            await done.put(None)
            await writing
        finally:
            if not writing.done():
                writing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writing


async def enrich_forever(
    pool: asyncpg.Pool, urls: Sequence[str], opts: FetchOptions, stop: asyncio.Event, interval_s: float = 30.0
) -> None:
    """`run`'s background enrichment: a pass every interval_s until stop, so that payloads are kept
    before they expire. A failed pass is logged and tried again; it never stops the followers."""
    while not stop.is_set():
        try:
            await enrich(pool, urls, opts)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            log.warning("enrich_failed error=%s", f"{type(e).__name__}: {e}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
