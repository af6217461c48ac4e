"""What a follow scenario is judged by: every stored block hash is the node's canonical hash at its
height (no orphaned row), and the rows equal a fresh backfill of the canonical chain (no lost row)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import asyncpg
from pipeline_helpers import CONTENT_TABLES, fresh_pool, run_backfill

from indexer.config import ChainConfig
from indexer.rpc import RpcClient


@dataclass
class Divergence:
    """Rows per table: stored with a block hash the node does not have at that height (orphaned),
    in the canonical chain's backfill but not stored (lost), stored but not in it (extra)."""

    orphaned: dict[str, int] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)
    extra: dict[str, int] = field(default_factory=dict)

    def none(self) -> bool:
        return not (self.orphaned or self.lost or self.extra)


async def tables_with_block_hash(pool: asyncpg.Pool) -> list[str]:
    recs = await pool.fetch(
        "select table_name from information_schema.columns where table_schema = 'og' and column_name = 'block_hash'"
        " and table_name in (select table_name from information_schema.tables"
        " where table_schema = 'og' and table_type = 'BASE TABLE') order by 1"
    )
    return [r["table_name"] for r in recs]


async def orphaned_rows(pool: asyncpg.Pool, chain_id: int, node_url: str) -> dict[str, int]:
    """Rows per table whose block hash is not the node's canonical hash at their height."""
    stored: dict[str, list[tuple[int, str, int]]] = {}
    heights: set[int] = set()
    for t in await tables_with_block_hash(pool):
        recs = await pool.fetch(
            f"select block_number, block_hash, count(*) as n from og.{t} where chain_id = $1 group by 1, 2", chain_id
        )
        stored[t] = [(r["block_number"], r["block_hash"], r["n"]) for r in recs]
        heights |= {r["block_number"] for r in recs}
    async with RpcClient([node_url]) as rpc:
        canonical = await rpc.blocks(heights)
    out: dict[str, int] = {}
    for t, rows in stored.items():
        n = sum(k for b, h, k in rows if canonical[b].hash != h)
        if n:
            out[t] = n
    return out


async def _row_texts(pool: asyncpg.Pool, table: str, chain_id: int) -> Counter[str]:
    recs = await pool.fetch(f"select x::text as r from og.{table} x where chain_id = $1", chain_id)
    return Counter(r["r"] for r in recs)


async def divergence(
    pool: asyncpg.Pool, server_dsn: str, chain: ChainConfig, node_url: str, tip: int
) -> Divergence:
    """Compare what is stored for the chain with the node's canonical chain up to block `tip`."""
    d = Divergence(orphaned=await orphaned_rows(pool, chain.chain_id, node_url))
    async with fresh_pool(server_dsn) as truth:
        await run_backfill(truth, chain, chain.start_block, tip)
        for t in CONTENT_TABLES:
            live, want = await _row_texts(pool, t, chain.chain_id), await _row_texts(truth, t, chain.chain_id)
            if lost := sum((want - live).values()):
                d.lost[t] = lost
            if extra := sum((live - want).values()):
                d.extra[t] = extra
    return d
