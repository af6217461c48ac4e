"""Write a block range's encoded rows by COPY (idempotent on each table's key) and refresh TEE state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence

import asyncpg

from ..batch import EncodedRows, EncodedTable
from .base import SQL_DIR, Conn, HashMismatch


async def _payload(t: EncodedTable) -> AsyncIterator[bytes]:
    """A table's COPY payload as COPY's source (asyncpg would take plain bytes for a file name)."""
    yield t.payload


async def _stage(conn: Conn, t: EncodedTable) -> int:
    """COPY a table's rows into a session temp table, then insert what is new; returns rows inserted."""
    stage = f"stage_{t.table}"
    await conn.execute(f"create temp table if not exists {stage} (like og.{t.table}) on commit delete rows")
    await conn.copy_to_table(stage, source=_payload(t), columns=list(t.columns), format="binary")
    col_list = ", ".join(t.columns)
    status: str = await conn.execute(
        f"insert into og.{t.table} ({col_list}) select {col_list} from {stage} on conflict do nothing"
    )
    await conn.execute(f"truncate {stage}")
    return int(status.rsplit(" ", 1)[1])


async def _check_block_hashes(conn: Conn, chain_id: int, blocks: Sequence[tuple[int, str]]) -> None:
    if not blocks:
        return
    hashes = dict(blocks)
    for rec in await conn.fetch(
        "select block_number, block_hash from og.blocks"
        " where chain_id = $1 and block_number = any($2::bigint[])",
        chain_id,
        list(hashes),
    ):
        if rec["block_hash"] != hashes[rec["block_number"]]:
            raise HashMismatch(chain_id, rec["block_number"], rec["block_hash"], hashes[rec["block_number"]])


TEES_REFRESH = (SQL_DIR / "queries" / "tees_refresh.sql").read_text()


async def refresh_tees(
    conn: Conn, chain_id: int, touched: Iterable[tuple[str, str]], new_blocks: tuple[int, int] | None = None
) -> None:
    """Recompute og.tees for the given (registry, tee_id) pairs from their events, so that ranges
    indexed in any order converge to the same state. With new_blocks, every event of those blocks
    was just inserted and none existed before: heartbeats are added to the stored count instead of
    recounted (a recount grows with history and made long backfills quadratic)."""
    pairs = sorted(set(touched))
    if pairs:
        lo, hi = new_blocks if new_blocks is not None else (None, None)
        await conn.execute(TEES_REFRESH, chain_id, [p[0] for p in pairs], [p[1] for p in pairs], lo, hi)


async def write_rows(
    conn: Conn,
    chain_id: int,
    rows: EncodedRows,
    *,
    fresh: bool = False,
    block_range: tuple[int, int] | None = None,
) -> dict[str, int]:
    """Insert rows (idempotent on each table's key) inside the caller's transaction.

    fresh: the caller holds the chain lock and no indexed range overlaps the rows' blocks, so none of
    them can exist yet: they are copied straight into their tables. Should one exist after all (a
    unique violation), that attempt is rolled back to a savepoint and the rows go through the
    insert-what-is-new path like any other."""
    await _check_block_hashes(conn, chain_id, rows.block_hashes)
    written: dict[str, int] | None = None
    if fresh:
        try:
            async with conn.transaction():
                written = await _copy_direct(conn, rows)
        except asyncpg.UniqueViolationError:
            written = None
    incremental = block_range if written is not None else None
    if written is None:
        written = {t.table: await _stage(conn, t) for t in rows.tables}
    await refresh_tees(conn, chain_id, rows.tees_touched, incremental)
    return written


async def _copy_direct(conn: Conn, rows: EncodedRows) -> dict[str, int]:
    for t in rows.tables:
        await conn.copy_to_table(
            t.table, schema_name="og", source=_payload(t), columns=list(t.columns), format="binary"
        )
    return {t.table: t.n_rows for t in rows.tables}
