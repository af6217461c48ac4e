"""Range bookkeeping: which block ranges are indexed, their seams, and the one-transaction commit."""

from __future__ import annotations

from collections.abc import Sequence

from ..batch import EncodedRows
from .base import Conn, Discontinuity, Range, lock_chain
from .rollback import hash_at
from .writes import write_rows


async def overlaps_indexed(conn: Conn, chain_id: int, lo: int, hi: int) -> bool:
    """Whether any indexed range of the chain shares a block with [lo, hi]."""
    found: bool = await conn.fetchval(
        "select exists (select 1 from og.indexed_ranges where chain_id = $1 and to_block >= $2"
        " and from_block <= $3)",
        chain_id,
        lo,
        hi,
    )
    return found


async def add_range(conn: Conn, chain_id: int, lo: int, hi: int, hi_hash: str) -> None:
    """Record [lo, hi] as indexed and merge it with overlapping or adjacent ranges (caller holds the
    chain lock inside a transaction)."""
    recs = await conn.fetch(
        "select from_block, to_block, to_hash from og.indexed_ranges where chain_id = $1 "
        "and to_block >= $2 - 1 and from_block <= $3 + 1",
        chain_id,
        lo,
        hi,
    )
    new_lo, new_hi, new_hash = lo, hi, hi_hash
    for r in recs:
        new_lo = min(new_lo, r["from_block"])
        if r["to_block"] > new_hi:
            new_hi, new_hash = r["to_block"], r["to_hash"]
    if recs:
        await conn.execute(
            "delete from og.indexed_ranges where chain_id = $1 and from_block = any($2::bigint[])",
            chain_id,
            [r["from_block"] for r in recs],
        )
    await conn.execute(
        "insert into og.indexed_ranges (chain_id, from_block, to_block, to_hash) values ($1, $2, $3, $4)",
        chain_id,
        new_lo,
        new_hi,
        new_hash,
    )


async def check_seams(conn: Conn, chain_id: int, lo: int, hi: int, lo_parent: str, hi_hash: str) -> None:
    """Prove that [lo, hi] chains onto what is stored around it: block lo's parent is the stored
    block lo - 1 (header or checkpoint hash), and a stored block hi + 1 has block hi as its parent.
    Where nothing is stored there is nothing to prove. Raises Discontinuity (caller holds the lock)."""
    below = await hash_at(conn, chain_id, lo - 1)
    if below is not None and below != lo_parent:
        raise Discontinuity(
            chain_id, lo - 1, f"block {lo} has parent {lo_parent}, but the stored block {lo - 1} is {below}"
        )
    above = await conn.fetchval(
        "select parent_hash from og.blocks where chain_id = $1 and block_number = $2", chain_id, hi + 1
    )
    if above is not None and above != hi_hash:
        raise Discontinuity(
            chain_id, hi + 1, f"the stored block {hi + 1} has parent {above}, but block {hi} is {hi_hash}"
        )


async def commit_range(
    conn: Conn,
    chain_id: int,
    lo: int,
    hi: int,
    hi_hash: str,
    rows: EncodedRows,
    *,
    lo_parent: str | None = None,
) -> dict[str, int]:
    """One transaction: the range's rows and its checkpoint, so a crash leaves both or neither.
    With lo_parent (block lo's parent hash), the range must chain onto the stored blocks around it
    (check_seams), else Discontinuity and nothing is written."""
    async with conn.transaction():
        await lock_chain(conn, chain_id)
        if lo_parent is not None:
            await check_seams(conn, chain_id, lo, hi, lo_parent, hi_hash)
        fresh = not await overlaps_indexed(conn, chain_id, lo, hi)
        written = await write_rows(conn, chain_id, rows, fresh=fresh, block_range=(lo, hi))
        await add_range(conn, chain_id, lo, hi, hi_hash)
    return written


async def indexed_ranges(conn: Conn, chain_id: int) -> list[Range]:
    recs = await conn.fetch(
        "select from_block, to_block from og.indexed_ranges where chain_id = $1 order by from_block",
        chain_id,
    )
    return [Range(r["from_block"], r["to_block"]) for r in recs]


def gaps(lo: int, hi: int, done: Sequence[Range]) -> list[Range]:
    """The parts of [lo, hi] not covered by the (sorted, merged) done ranges."""
    out: list[Range] = []
    cursor = lo
    for r in done:
        if r.hi < cursor:
            continue
        if r.lo > hi:
            break
        if r.lo > cursor:
            out.append(Range(cursor, min(hi, r.lo - 1)))
        cursor = max(cursor, r.hi + 1)
        if cursor > hi:
            break
    if cursor <= hi:
        out.append(Range(cursor, hi))
    return out
