"""Reads of raw logs and their context for `redecode`, and the deletes it starts with."""

from __future__ import annotations

import asyncpg

from ..tables import DECODED_TABLES
from .base import Conn


async def delete_decoded(conn: Conn, chain_id: int, lo: int, hi: int) -> None:
    """Remove the rows derived from raw logs in [lo, hi], raw logs included (redecode rebuilds them
    from what it read first)."""
    for t in (*DECODED_TABLES, "raw_logs"):
        await conn.execute(
            f"delete from og.{t} where chain_id = $1 and block_number between $2 and $3", chain_id, lo, hi
        )


async def read_raw(
    conn: Conn, chain_id: int, lo: int, hi: int
) -> tuple[list[asyncpg.Record], list[asyncpg.Record], list[asyncpg.Record]]:
    """Raw logs, block headers and transactions stored for [lo, hi] (what redecode needs)."""
    logs = await conn.fetch(
        "select * from og.raw_logs where chain_id = $1 and block_number between $2 and $3 "
        "order by block_number, log_index",
        chain_id,
        lo,
        hi,
    )
    blocks = await conn.fetch(
        "select * from og.blocks where chain_id = $1 and block_number between $2 and $3", chain_id, lo, hi
    )
    txs = await conn.fetch(
        "select * from og.transactions where chain_id = $1 and block_number between $2 and $3",
        chain_id,
        lo,
        hi,
    )
    return logs, blocks, txs


async def raw_block_bounds(conn: Conn, chain_id: int) -> tuple[int, int] | None:
    rec = await conn.fetchrow(
        "select min(block_number) as lo, max(block_number) as hi from og.raw_logs where chain_id = $1",
        chain_id,
    )
    if rec is None or rec["lo"] is None:
        return None
    return int(rec["lo"]), int(rec["hi"])


async def all_tees(conn: Conn, chain_id: int) -> set[tuple[str, str]]:
    recs = await conn.fetch(
        "select distinct registry, tee_id from og.tee_events where chain_id = $1 and tee_id is not null "
        "union select registry, tee_id from og.tees where chain_id = $1",
        chain_id,
    )
    return {(r["registry"], r["tee_id"]) for r in recs}
