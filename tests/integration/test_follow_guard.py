"""Live following, the parts that need a second view of the chain: a node that reports a reorg no
other node sees does not roll anything back, newHeads over ws wakes an idle follower, and an error
the follower has recovered from is shown as resolved."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING

from pipeline_helpers import fresh_pool
from rpc_proxy import RpcProxy
from test_follow import FAST, T0, chain_cfg, follow_until, followed_through_proxy, mine, paid, payer, payment

from indexer.follow import Follower, FollowOptions, Outcome
from indexer.rpc import RpcClient
from indexer.service import subscribe_new_heads
from indexer.status import chain_status

if TYPE_CHECKING:
    from devnet_fixtures import DevnetPair

pytest_plugins = ("devnet_fixtures",)


def _fake(n: int) -> str:
    return "0x" + f"{n:x}".rjust(64, "e")


async def test_a_reorg_only_one_node_reports_rolls_nothing_back(devnet: DevnetPair, server_dsn: str) -> None:
    """The primary node claims blocks 4.. were replaced (consistent fake hashes in headers, logs
    and transactions); the second node disagrees. The follower must not roll back, and carries on
    with the node that agrees with what is stored."""
    url = devnet.urls["base"]
    async with followed_through_proxy(devnet, server_dsn) as (liar, f, pool, rpc):  # blocks 1..5 followed
        before = await paid(pool)
        mine(url, [payment(T0 + 600, payer(6), 1006)])  # block 6
        async with RpcClient([url]) as honest:
            real = await honest.blocks([4, 5, 6])
        liar.rewrite = {real[n].hash: _fake(n) for n in (4, 5, 6)}
        # Block 6 (as the liar tells it) does not build on the stored block 5: a reorg, unless
        # the second node's hashes say the stored blocks are still canonical.
        assert await f.converge() is Outcome.NOTHING_NEW
        assert f.stats.reorgs == 0
        assert await paid(pool) == before
        assert rpc.url == url  # rotated to the node that agrees
        await follow_until(f, 6)
        assert await paid(pool) == [*before, (6, payer(6), 1006)]
        assert f.stats.reorgs == 0
        stored = await pool.fetchval("select block_hash from og.blocks where chain_id = 8453 and block_number = 6")
        assert stored == real[6].hash


async def test_new_heads_over_ws_wakes_an_idle_follower_long_before_its_next_poll(
    devnet: DevnetPair, server_dsn: str
) -> None:
    url = devnet.urls["base"]
    ws = "ws://" + url.removeprefix("http://")
    mine(url, [payment(T0 + 60, payer(1), 1001)])
    slow = FollowOptions(poll_min_s=60, poll_max_s=60, live_span=50, stall_after_s=300)  # polls once a minute
    chain = chain_cfg(devnet, "base", depth=4)
    async with fresh_pool(server_dsn) as pool, RpcClient([url]) as rpc:
        f = Follower(rpc, pool, chain, slow)
        stop = asyncio.Event()
        run = asyncio.create_task(f.run(stop))
        sub = asyncio.create_task(subscribe_new_heads(ws, f, stop))
        try:
            async with asyncio.timeout(20):
                while f.stats.tip != 1 or f.stats.passes < 2:  # caught up, then idle: asleep for 60 s
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # the subscription is up
            mine(url, [payment(T0 + 120, payer(2), 1002)])  # block 2
            async with asyncio.timeout(10):  # well before the next poll, 60 s away: woken by newHeads
                while f.stats.tip != 2:
                    await asyncio.sleep(0.05)
            assert [p[2] for p in await paid(pool)] == [1001, 1002]
        finally:
            stop.set()
            f.wake.set()
            await asyncio.gather(run, sub)


async def test_last_error_is_marked_resolved_once_the_chain_progresses_again(
    devnet: DevnetPair, server_dsn: str
) -> None:
    url = devnet.urls["base"]
    mine(url, [payment(T0 + 60 * i, payer(i), 1000 + i) for i in (1, 2)])
    proxy = await RpcProxy(url).start()
    try:
        chain = replace(chain_cfg(devnet, "base", depth=4), rpc_urls=(proxy.url,))
        async with fresh_pool(server_dsn) as pool, RpcClient(chain.rpc_urls, retries=1, backoff_s=0.01) as rpc:
            f = Follower(rpc, pool, chain, FAST)
            await follow_until(f, 2)
            proxy.dead = True
            stop = asyncio.Event()
            task = asyncio.create_task(f.run(stop))
            async with asyncio.timeout(20):
                while f.stats.errors == 0 or f.stats.passes < 2:
                    await asyncio.sleep(0.05)
            stop.set()
            await task
            state = await pool.fetchrow("select last_error, last_error_resolved_at from og.chain_state")
            assert state is not None and state["last_error"]
            assert state["last_error_resolved_at"] is None
            async with pool.acquire() as conn:
                shown = await chain_status(conn, chain, offline=True)
            assert shown["follower"]["last_error_resolved_at"] is None
            proxy.dead = False
            mine(url, [payment(T0 + 600, payer(3), 1003)])
            await follow_until(f, 3)
            state = await pool.fetchrow("select last_error, last_error_resolved_at from og.chain_state")
            assert state is not None and state["last_error"] and state["last_error_resolved_at"] is not None
            async with pool.acquire() as conn:
                shown = await chain_status(conn, chain, offline=True)
            assert shown["follower"]["last_error_resolved_at"] is not None
    finally:
        await proxy.stop()
