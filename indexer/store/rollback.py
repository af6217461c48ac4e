"""Reorg handling: stored hashes, the rollback of every row at or above a fork, header pruning."""

from __future__ import annotations

from ..tables import DECODED_TABLES
from .base import Conn
from .writes import refresh_tees

# Rows derived from the Walrus payloads of settlements in the rolled-back blocks (the blobs stay).
WALRUS_DERIVED_TABLES = ("walrus_batch_leaves", "walrus_batches", "walrus_individual")


ROLLBACK_TABLES = ("raw_logs", "transactions", *DECODED_TABLES, *WALRUS_DERIVED_TABLES, "address_code", "blocks")


async def tip(conn: Conn, chain_id: int) -> tuple[int, str] | None:
    """The highest indexed block and its hash (the follower builds on it)."""
    rec = await conn.fetchrow(
        "select to_block, to_hash from og.indexed_ranges where chain_id = $1 order by to_block desc limit 1",
        chain_id,
    )
    return None if rec is None else (int(rec["to_block"]), str(rec["to_hash"]))


async def stored_hashes(conn: Conn, chain_id: int, lo: int, hi: int) -> dict[int, str]:
    recs = await conn.fetch(
        "select block_number, block_hash from og.blocks where chain_id = $1 and block_number between $2 and $3",
        chain_id,
        lo,
        hi,
    )
    return {int(r["block_number"]): str(r["block_hash"]) for r in recs}


async def hashes_below(conn: Conn, chain_id: int, below: int, limit: int) -> dict[int, str]:
    """The `limit` highest stored block headers under block `below` (where to look for the last
    block still canonical after a reorg deeper than the window)."""
    recs = await conn.fetch(
        "select block_number, block_hash from og.blocks where chain_id = $1 and block_number < $2"
        " order by block_number desc limit $3",
        chain_id,
        below,
        limit,
    )
    return {int(r["block_number"]): str(r["block_hash"]) for r in recs}


async def hash_at(conn: Conn, chain_id: int, block_number: int) -> str | None:
    """The stored hash of a block: its header, else the checkpoint that ends there."""
    found: str | None = await conn.fetchval(
        "select coalesce((select block_hash from og.blocks where chain_id = $1 and block_number = $2),"
        " (select to_hash from og.indexed_ranges where chain_id = $1 and to_block = $2))",
        chain_id,
        block_number,
    )
    return found


async def rollback(conn: Conn, chain_id: int, fork: int, ancestor_hash: str) -> dict[str, int]:
    """Delete every row at or above the fork block and cut the checkpoint back to fork - 1, in the
    caller's transaction; TEE state is recomputed from what remains."""
    touched = await conn.fetch(
        "select distinct registry, tee_id from og.tee_events where chain_id = $1 and block_number >= $2 "
        "and tee_id is not null",
        chain_id,
        fork,
    )
    deleted: dict[str, int] = {}
    for t in ROLLBACK_TABLES:
        status: str = await conn.execute(
            f"delete from og.{t} where chain_id = $1 and block_number >= $2", chain_id, fork
        )
        deleted[t] = int(status.rsplit(" ", 1)[1])
    await conn.execute(
        "delete from og.indexed_ranges where chain_id = $1 and from_block >= $2", chain_id, fork
    )
    await conn.execute(
        "update og.indexed_ranges set to_block = $2 - 1, to_hash = $3 where chain_id = $1 and to_block >= $2",
        chain_id,
        fork,
        ancestor_hash,
    )
    await refresh_tees(conn, chain_id, [(r["registry"], r["tee_id"]) for r in touched])
    return deleted


async def prune_blocks(conn: Conn, chain_id: int, below: int) -> int:
    """Forget headers below the unfinalized window that hold no log and end no range."""
    status: str = await conn.execute(
        """
        delete from og.blocks b where b.chain_id = $1 and b.block_number < $2
          and not exists (select 1 from og.raw_logs r
                          where r.chain_id = b.chain_id and r.block_number = b.block_number)
          and not exists (select 1 from og.indexed_ranges i
                          where i.chain_id = b.chain_id and i.to_block = b.block_number)
        """,
        chain_id,
        below,
    )
    return int(status.rsplit(" ", 1)[1])
