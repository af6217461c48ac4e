"""The in-memory store of the unit tests agrees with Postgres: scenarios of reorgs and replays, read
from the same hand-built chain, end with the same outcomes, rows, headers and checkpoint."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import asyncpg
from fakes import FakeChain, FakeStore, Tuple, converge_until_idle, pay

from indexer.config import BASE
from indexer.follow import Follower, FollowOptions
from indexer.store import Store
from indexer.sync import backfill
from indexer.tables import ROW_TYPES, table_columns

CHAIN = replace(BASE, finality_depth=4, max_block_range=50)  # a catch-up below the window is one range
OPTS = FollowOptions(live_span=3)
INTS = ("smallint", "integer", "bigint")
ROW_TYPE = {rt.TABLE: rt for rt in ROW_TYPES}


async def scenario(dest: Store | asyncpg.Pool) -> list[Any]:
    """Followed to 10; blocks 8.. replaced while down and the head at 20; blocks 19.. replaced while
    followed; then a forced replay of everything."""
    chain = FakeChain(CHAIN)
    pay(chain, 1, 10)
    seen: list[Any] = await converge_until_idle(Follower(chain, dest, CHAIN, OPTS))
    chain.reorg(8, "b")
    pay(chain, 100, 13)  # blocks 8..20
    f = Follower(chain, dest, CHAIN, OPTS)
    seen += await converge_until_idle(f)
    chain.reorg(19, "c")
    pay(chain, 200, 3)  # blocks 19..21
    seen += await converge_until_idle(f)
    replay = await backfill(chain, dest, CHAIN, 0, chain.head, force=True)
    return [*seen, f.stats.reorgs, replay.rows, sum(replay.written.values())]


def _value(pg_type: str, b: bytes | None) -> object:
    assert b is not None
    return int.from_bytes(b, "big", signed=True) if pg_type in INTS else b.decode()


def _projected(table: str) -> tuple[str, ...]:
    """A table's key, and the block hash of each row where it has one."""
    rt = ROW_TYPE[table]
    return (*rt.KEY, *(["block_hash"] if "block_hash" in rt.columns() else []))


def fake_rows(store: FakeStore, table: str) -> set[tuple[object, ...]]:
    types = {c.name: c.pg.base for c in table_columns(ROW_TYPE[table])}
    columns = store.columns[table]

    def project(r: Tuple) -> tuple[object, ...]:
        return tuple(_value(types[c], r[columns.index(c)]) for c in _projected(table))

    return {project(r) for r in store.rows[table].values()}


async def test_the_fake_store_ends_where_postgres_ends(pool: asyncpg.Pool) -> None:
    fake = FakeStore(chain_id=CHAIN.chain_id)
    assert await scenario(pool) == await scenario(fake)
    assert fake.forks == [8, 19]
    await assert_same(pool, fake)


async def test_both_roll_back_a_reorg_while_down_caught_up_in_several_ranges(pool: asyncpg.Pool) -> None:
    """Two concurrent catch-up ranges, the upper one committed before the lower one fails its seam:
    the fork is still found in the window of the tip the pass started from, on Postgres too."""
    config = replace(CHAIN, max_block_range=5)
    fake = FakeStore(chain_id=CHAIN.chain_id)
    seen = []
    for dest in (pool, fake):
        chain = FakeChain(config)
        pay(chain, 1, 10)
        await converge_until_idle(Follower(chain, dest, config, OPTS))
        chain.reorg(8, "b")
        pay(chain, 100, 13)  # blocks 8..20
        seen.append(await converge_until_idle(Follower(chain, dest, config, OPTS)))
    assert seen[0] == seen[1]
    assert fake.forks == [8]
    await assert_same(pool, fake)


async def assert_same(pool: asyncpg.Pool, fake: FakeStore) -> None:
    async with pool.acquire() as conn:
        for table in fake.rows:
            cols = ", ".join(_projected(table))
            recs = await conn.fetch(f"select {cols} from og.{table} where chain_id = $1", CHAIN.chain_id)
            assert {tuple(r) for r in recs} == fake_rows(fake, table), table
        ranges = await conn.fetch("select from_block, to_block, to_hash from og.indexed_ranges order by 1")
        assert {r["from_block"]: (r["to_block"], r["to_hash"]) for r in ranges} == fake.ranges
        headers = await conn.fetch("select block_number, block_hash, parent_hash from og.blocks")
        assert {r["block_number"]: (r["block_hash"], r["parent_hash"]) for r in headers} == fake.headers()
