"""An operator's bad day, on real anvil and the fault proxy: a reorg while the indexer is down, a
too-deep reorg then a restart, a lagging node, a capped provider after downtime, and one chain's
stop while the other is followed. Each ends with the stored chain equal to the node's canonical
chain: no orphaned row, no lost row (chain_truth)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import aiohttp
import pytest
from chain_truth import divergence
from pipeline_helpers import fresh_pool, start_cli
from rpc_proxy import Faults, RpcProxy
from test_follow import FAST, T0, chain_cfg, dev_call, follow_until, heartbeat, mine, paid, payer, payment

from indexer import service
from indexer.follow import Follower, ReorgTooDeep
from indexer.rpc import RpcClient
from indexer.status import chain_status

if TYPE_CHECKING:
    from devnet_fixtures import DevnetPair

pytest_plugins = ("devnet_fixtures",)


def payments(first_block: int, payer_from: int, amount_from: int, n: int) -> list[tuple[int, str, int]]:
    """What og.payments holds for n consecutive one-payment blocks mined by pay()."""
    return [(first_block + i, payer(payer_from + i), amount_from + i) for i in range(n)]


def pay(url: str, t: int, payer_from: int, amount_from: int, n: int) -> None:
    """Mine n blocks, one x402 payment each, a minute apart from time t."""
    mine(url, [payment(t + 60 * i, payer(payer_from + i), amount_from + i) for i in range(n)])


async def test_reorg_while_down_then_head_beyond_the_window_is_rolled_back_on_restart(
    devnet: DevnetPair, server_dsn: str
) -> None:
    """Stored tip 10, fork at 8 while the indexer is down, head 10 blocks further on (window 4): the
    catch-up range 11.. does not build on the stored block 10, so the orphaned 8..10 are rolled back."""
    url = devnet.urls["base"]
    chain = chain_cfg(devnet, "base", depth=4)
    pay(url, T0, 1, 1001, 10)  # blocks 1..10
    async with fresh_pool(server_dsn) as pool:
        async with RpcClient([url]) as rpc:
            await follow_until(Follower(rpc, pool, chain, FAST), 10)
        assert await paid(pool) == payments(1, 1, 1001, 10)
        dev_call(url, "anvil_rollback", [3])  # down: blocks 8..10 (payers 8, 9, 10) are replaced
        pay(url, T0 + 3600, 100, 5000, 13)  # blocks 8..20, other payers
        async with RpcClient([url]) as rpc:  # restarted
            f = Follower(rpc, pool, chain, FAST)
            await follow_until(f, 20)
        assert await paid(pool) == payments(1, 1, 1001, 7) + payments(8, 100, 5000, 13)
        assert payer(9) not in {p for _, p, _ in await paid(pool)}  # paid only on the orphaned branch
        assert f.stats.reorgs == 1
        d = await divergence(pool, server_dsn, chain, url, 20)
        assert d.none(), d


async def test_too_deep_reorg_stops_and_a_restart_stops_again_until_repaired(
    devnet: DevnetPair, server_dsn: str
) -> None:
    """A fork 6 deep with a 3-block window stops the chain; a restarted run (head now far beyond the
    window) stops again and writes nothing; `og-indexer rollback` repairs, and run converges."""
    url = devnet.urls["base"]
    chain = chain_cfg(devnet, "base", depth=3)
    pay(url, T0, 1, 1001, 8)  # blocks 1..8
    async with fresh_pool(server_dsn) as pool:
        async with RpcClient([url]) as rpc:
            f = Follower(rpc, pool, chain, FAST)
            await follow_until(f, 8)
            before = await paid(pool)
            dev_call(url, "anvil_rollback", [6])  # blocks 3..8 replaced
            pay(url, T0 + 3600, 50, 7000, 8)  # blocks 3..10
            with pytest.raises(ReorgTooDeep, match="og-indexer rollback --chain base --from-block 3"):
                await follow_until(f, 10)
        pay(url, T0 + 7200, 70, 8000, 10)  # blocks 11..20: the head is far beyond the window
        async with RpcClient([url]) as rpc:  # a supervisor restarts it
            with pytest.raises(Exception, match="still stopped"):
                await follow_until(Follower(rpc, pool, chain, FAST), 20, timeout=10)
        env = {
            **os.environ,
            "DATABASE_URL": pool._connect_args[0],  # type: ignore[attr-defined]
            "BASE_RPC_URL": url,
        }
        args = ["run", "--chain", "base", "--poll-interval", "0.05"]
        proc = start_cli(args, env)  # the command itself: exits non-zero, naming the stop
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 1
        assert "deeper than the 3-block window" in err.decode() and "still stopped" in err.decode()
        assert await paid(pool) == before  # nothing written on top of the orphaned rows
        async with pool.acquire() as conn:
            shown = await chain_status(conn, chain, offline=True)
        assert "deeper than the 3-block window" in shown["follower"]["stopped"]

        proc = start_cli(["rollback", "--chain", "base", "--from-block", "3", "--yes"], env)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        assert "rows at or above block 3 deleted" in out.decode()
        async with RpcClient([url]) as rpc:
            await follow_until(Follower(rpc, pool, chain, FAST), 20)
        assert await paid(pool) == payments(1, 1, 1001, 2) + payments(3, 50, 7000, 8) + payments(11, 70, 8000, 10)
        async with pool.acquire() as conn:
            shown = await chain_status(conn, chain, offline=True)
        assert shown["follower"]["stopped"] is None and shown["follower"]["last_error_resolved_at"] is not None
        d = await divergence(pool, server_dsn, chain, url, 20)
        assert d.none(), d


@pytest.mark.parametrize("second_url", [False, True], ids=["one_url", "two_urls"])
async def test_lagging_head_is_not_a_reorg(devnet: DevnetPair, server_dsn: str, second_url: bool) -> None:
    """The node serves a head 3 blocks behind the stored tip for 3 s, nothing reorganised: no row
    may disappear, no reorg is counted, the lagging answers are. With a healthy second URL the
    follower asks it and keeps up meanwhile."""
    url = devnet.urls["base"]
    pay(url, T0, 1, 1001, 10)  # blocks 1..10
    proxy = await RpcProxy(url).start()
    try:
        urls = (proxy.url, url) if second_url else (proxy.url,)
        chain = replace(chain_cfg(devnet, "base", depth=6), rpc_urls=urls)
        async with fresh_pool(server_dsn) as pool, RpcClient(urls, backoff_s=0.01) as rpc:
            f = Follower(rpc, pool, chain, FAST)
            await follow_until(f, 10)
            proxy.head_lag = 3  # its head is 7, then 9, below the stored tip 10
            pay(url, T0 + 3600, 11, 1011, 2)  # blocks 11, 12
            stop = asyncio.Event()
            task = asyncio.create_task(f.run(stop))
            fewest = 10
            for _ in range(60):  # 3 s
                fewest = min(fewest, len(await paid(pool)))
                await asyncio.sleep(0.05)
            stop.set()
            await task
            assert fewest == 10  # no payment disappeared, not even for a moment
            assert f.stats.reorgs == 0 and f.stats.lagging >= 1
            during = await paid(pool)
            assert during == payments(1, 1, 1001, 12 if second_url else 10)
            proxy.head_lag = 0
            await follow_until(f, 12)
            assert await paid(pool) == payments(1, 1, 1001, 12)
            assert f.stats.reorgs == 0
            state = await pool.fetchrow("select reorgs, lagging_answers from og.chain_state where chain_id = 8453")
            assert state is not None and state["reorgs"] == 0 and state["lagging_answers"] >= 1
            assert "og_indexer_lagging_answers_total" in service.metrics_text([f])
            d = await divergence(pool, server_dsn, chain, url, 12)
            assert d.none(), d
    finally:
        await proxy.stop()


@pytest.mark.parametrize(("down", "depth"), [(9, 12), (20, 4)], ids=["gap_inside_window", "gap_beyond_window"])
async def test_capped_provider_after_downtime_shrinks_the_live_span(
    devnet: DevnetPair, server_dsn: str, down: int, depth: int
) -> None:
    """Blocks mined while down, against a provider capped at 5 blocks per eth_getLogs: the follower
    takes the span the refusal names and catches up (live steps inside the window, the backfill
    path below it, one span control for both)."""
    url = devnet.urls["base"]
    pay(url, T0, 1, 1001, 3)  # blocks 1..3
    proxy = await RpcProxy(url, Faults(max_range=5)).start()
    try:
        chain = replace(chain_cfg(devnet, "base", depth=depth), rpc_urls=(proxy.url,))
        async with fresh_pool(server_dsn) as pool:
            async with RpcClient(chain.rpc_urls, backoff_s=0.01) as rpc:
                await follow_until(Follower(rpc, pool, chain, FAST), 3)
            refused_before = proxy.refused_ranges
            pay(url, T0 + 3600, 4, 1004, down)  # blocks 4..3+down while down
            top = 3 + down
            async with RpcClient(chain.rpc_urls, backoff_s=0.01) as rpc:
                f = Follower(rpc, pool, chain, FAST)
                await follow_until(f, top, timeout=20)
            assert proxy.refused_ranges - refused_before <= 2  # learnt once, not repeated every poll
            assert f.stats.errors == 0
            assert await paid(pool) == payments(1, 1, 1001, top)
            d = await divergence(pool, server_dsn, replace(chain, rpc_urls=(url,)), url, top)
            assert d.none(), d
    finally:
        await proxy.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_too_deep_reorg_on_base_stops_base_while_opengradient_keeps_being_followed(
    devnet: DevnetPair, server_dsn: str
) -> None:
    og_url, base_url = devnet.urls["opengradient"], devnet.urls["base"]
    og, base = chain_cfg(devnet, "opengradient", depth=0), chain_cfg(devnet, "base", depth=3)
    tee = bytes.fromhex("ab" * 32)
    mine(og_url, [heartbeat(T0 + 60 * i, tee) for i in (1, 2, 3)])  # blocks 1..3
    pay(base_url, T0, 1, 1001, 8)  # blocks 1..8
    port = _free_port()
    async with fresh_pool(server_dsn) as pool, aiohttp.ClientSession() as http:

        def tips_are(want: dict[int, int]) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                recs = await pool.fetch("select chain_id, max(to_block) as m from og.indexed_ranges group by 1")
                return {r["chain_id"]: r["m"] for r in recs} == want

            return check

        async def wait_for(cond: Callable[[], Awaitable[bool]], what: str) -> None:
            async with asyncio.timeout(30):
                while not await cond():
                    assert not task.done(), f"run ended before {what}: {task.exception()}"
                    await asyncio.sleep(0.05)

        stop = asyncio.Event()
        task = asyncio.create_task(service.run_service(pool, [og, base], FAST, metrics_port=port, stop=stop))
        try:
            await wait_for(tips_are({10740: 3, 8453: 8}), "both chains followed")
            before = await paid(pool)
            dev_call(base_url, "anvil_rollback", [6])
            pay(base_url, T0 + 3600, 50, 7000, 8)

            async def base_stopped() -> bool:
                async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
                    return 'og_indexer_stopped{chain="base"} 1' in await r.text()

            await wait_for(base_stopped, "base stopped")
            async with http.get(f"http://127.0.0.1:{port}/health") as r:
                assert r.status == 503
                health = await r.json()
            assert health["base"]["healthy"] is False and "deeper than the 3-block window" in health["base"]["stopped"]
            assert health["opengradient"]["healthy"] is True
            mine(og_url, [heartbeat(T0 + 60 * i, tee) for i in (4, 5, 6)])  # blocks 4..6
            await wait_for(tips_are({10740: 6, 8453: 8}), "opengradient still followed")
            beats = await pool.fetchval("select count(*) from og.tee_events where chain_id = 10740")
            assert beats == 6
        finally:
            stop.set()
        with pytest.raises(service.ChainsStopped, match=r"base stopped: .*deeper than the 3-block window"):
            await task
        assert await paid(pool) == before  # base: nothing written past the fork
        state = await pool.fetchval("select stopped_reason from og.chain_state where chain_id = 8453")
        assert "deeper than the 3-block window" in state
        assert await pool.fetchval("select stopped_reason from og.chain_state where chain_id = 10740") is None
        d = await divergence(pool, server_dsn, og, og_url, 6)
        assert d.none(), d
