"""Live following on anvil: the seam with catch-up, reorgs of several depths, failover, SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import pytest
from pipeline_helpers import devnet_config, digest, fresh_pool, head, run_backfill, start_cli
from rpc_proxy import RpcProxy

from indexer.config import BASE, OPENGRADIENT, ChainConfig
from indexer.devnet.anvil_client import AnvilClient as DevRpc
from indexer.devnet.plan import PlannedTx, event, mine_plan
from indexer.devnet.simulate import simulate
from indexer.follow import Follower, FollowOptions, ReorgTooDeep
from indexer.rpc import RpcClient
from indexer.status import chain_status

if TYPE_CHECKING:
    from devnet_fixtures import DevnetPair

pytest_plugins = ("devnet_fixtures",)

FAST = FollowOptions(poll_min_s=0.05, poll_max_s=0.2, live_span=50, stall_after_s=30)
OPG = BASE.addresses_with_role("token")[0]
UPTO = BASE.addresses_with_role("x402_upto")[0]
PAY_TO = BASE.pay_to[0]
REGISTRY = OPENGRADIENT.addresses_with_role("tee_registry")[0]
T0 = 1_778_000_000  # after the devnet genesis time
FACILITATOR = "0x" + "fa" * 20


def payment(ts: int, payer: str, amount: int) -> PlannedTx:
    """An x402 settle: OPG Transfer payer -> payTo, then the proxy's Settled(), in one transaction."""
    emits = (
        event(BASE, OPG, "OPG_ERC20_Base.json", "Transfer", payer, PAY_TO, amount),
        event(BASE, UPTO, "x402UptoPermit2Proxy.json", "Settled"),
    )
    return PlannedTx(ts, FACILITATOR, UPTO, b"", emits)


def heartbeat(ts: int, tee_id: bytes) -> PlannedTx:
    emits = (event(OPENGRADIENT, REGISTRY, "TEERegistry.json", "HeartbeatReceived", tee_id, ts),)
    return PlannedTx(ts, FACILITATOR, REGISTRY, b"", emits)


def payer(n: int) -> str:
    return "0x" + f"{n:040x}"


async def paid(pool: asyncpg.Pool) -> list[tuple[int, str, int]]:
    recs = await pool.fetch("select block_number, payer, amount_raw from og.payments order by block_number, log_index")
    return [(r["block_number"], r["payer"], int(r["amount_raw"])) for r in recs]


async def follow_until(follower: Follower, target: int, timeout: float = 30.0) -> None:
    """Run the follower until its tip reaches target (and its head is target), then stop it."""
    stop = asyncio.Event()
    task = asyncio.create_task(follower.run(stop))
    try:
        async with asyncio.timeout(timeout):
            while True:
                if task.done():
                    task.result()
                tip = await follower.dest.tip()
                if tip is not None and tip[0] == target and follower.stats.head == target:
                    return
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task


def chain_cfg(pair: DevnetPair, name: str, depth: int) -> ChainConfig:
    return replace(devnet_config(pair.urls).chain(name), finality_depth=depth)


def mine(url: str, txs: Sequence[PlannedTx]) -> None:
    with DevRpc(url) as rpc:
        mine_plan(rpc, txs)


def dev_call(url: str, method: str, params: list[object]) -> object:
    with DevRpc(url) as rpc:
        return rpc.call(method, params)


async def test_live_follow_sees_traffic_emitted_while_running_and_equals_backfill(
    devnet: DevnetPair, server_dsn: str
) -> None:
    """Catch-up and live share one checkpoint: events mined while `run` runs are all indexed once."""
    result: dict[str, object] = {}
    cfg = devnet_config(devnet.urls)
    chains = [replace(cfg.chain("opengradient"), finality_depth=3), replace(cfg.chain("base"), finality_depth=3)]
    async with fresh_pool(server_dsn) as pool:
        stop = asyncio.Event()
        clients = [RpcClient(c.rpc_urls, chain_name=c.name) for c in chains]
        followers = [Follower(cl, pool, c, FAST) for cl, c in zip(clients, chains, strict=True)]
        tasks = [asyncio.create_task(f.run(stop)) for f in followers]
        sim = threading.Thread(
            target=lambda: result.update(truth=simulate(devnet.urls["opengradient"], devnet.urls["base"], 2, 5))
        )
        sim.start()
        while sim.is_alive():
            await asyncio.sleep(0.1)
        heads = [await head(devnet.urls[c.name]) for c in chains]
        async with asyncio.timeout(60):
            while any(f.stats.tip != h for f, h in zip(followers, heads, strict=True)):
                await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*tasks)
        for cl in clients:
            await cl.close()
        assert all(f.stats.passes > 3 for f in followers)  # it really was following, not one catch-up
        live = await digest(pool)
        n_payments = await pool.fetchval("select count(*) from og.payments")
    truth = result["truth"]
    assert n_payments == len(truth.payments)  # type: ignore[attr-defined]
    async with fresh_pool(server_dsn) as pool:
        for c, h in zip(chains, heads, strict=True):
            await run_backfill(pool, c, 0, h)
        assert await digest(pool) == live


@pytest.mark.parametrize("depth", [1, 5, 8])
async def test_reorg_replaces_payments_with_the_new_canonical_chain(
    devnet: DevnetPair, server_dsn: str, depth: int
) -> None:
    """Depth 1, 5 and at the window limit (8): a payment removed, different ones added."""
    url = devnet.urls["base"]
    chain = chain_cfg(devnet, "base", depth=8)
    mine(url, [payment(T0 + i * 60, payer(i), 1000 + i) for i in range(1, 11)])  # blocks 1..10
    async with fresh_pool(server_dsn) as pool, RpcClient([url]) as rpc:
        f = Follower(rpc, pool, chain, FAST)
        await follow_until(f, 10)
        assert [p[2] for p in await paid(pool)] == [1000 + i for i in range(1, 11)]
        fork = 11 - depth
        dev_call(url, "anvil_rollback", [depth])  # blocks fork..10 are gone
        new = [payment(T0 + 600 + i * 60, payer(100 + i), 5000 + i) for i in range(depth + 1)]
        mine(url, new)  # a longer branch from fork
        await follow_until(f, 10 + 1)
        want = [(i, payer(i), 1000 + i) for i in range(1, fork)] + [
            (fork + i, payer(100 + i), 5000 + i) for i in range(depth + 1)
        ]
        assert await paid(pool) == want
        assert f.stats.reorgs == 1
        ranges = await pool.fetch("select from_block, to_block from og.indexed_ranges where chain_id = 8453")
        assert [(r["from_block"], r["to_block"]) for r in ranges] == [(0, 11)]
        stored = await pool.fetchval("select block_hash from og.blocks where chain_id = 8453 and block_number = 11")
        assert stored == (await rpc.blocks([11]))[11].hash


async def test_reorg_moves_a_tee_heartbeat_to_another_block(devnet: DevnetPair, server_dsn: str) -> None:
    url = devnet.urls["opengradient"]
    chain = chain_cfg(devnet, "opengradient", depth=6)
    tee = bytes.fromhex("ab" * 32)
    mine(url, [heartbeat(T0 + 60 * i, tee) for i in (1, 2, 3)])
    async with fresh_pool(server_dsn) as pool, RpcClient([url]) as rpc:
        f = Follower(rpc, pool, chain, FAST)
        await follow_until(f, 3)
        dev_call(url, "anvil_rollback", [1])
        with DevRpc(url) as dev:
            mine_plan(dev, [], extra_times=[T0 + 200])  # an empty block 3 ...
            mine_plan(dev, [heartbeat(T0 + 260, tee)])  # ... and the heartbeat moves to block 4
        await follow_until(f, 4)
        recs = await pool.fetch("select block_number, heartbeat_timestamp from og.tee_events order by block_number")
        assert [(r["block_number"], int(r["heartbeat_timestamp"])) for r in recs] == [
            (1, T0 + 60),
            (2, T0 + 120),
            (4, T0 + 260),
        ]


async def test_reorg_deeper_than_the_window_stops_with_a_clear_error(devnet: DevnetPair, server_dsn: str) -> None:
    url = devnet.urls["base"]
    chain = chain_cfg(devnet, "base", depth=3)
    mine(url, [payment(T0 + i * 60, payer(i), 1000 + i) for i in range(1, 9)])
    async with fresh_pool(server_dsn) as pool, RpcClient([url]) as rpc:
        f = Follower(rpc, pool, chain, FAST)
        await follow_until(f, 8)
        before = await paid(pool)
        dev_call(url, "anvil_rollback", [6])
        mine(url, [payment(T0 + 900 + i * 60, payer(50 + i), 7000 + i) for i in range(8)])
        with pytest.raises(ReorgTooDeep, match="og-indexer rollback --chain base --from-block 3"):
            await follow_until(f, 10)
        assert await paid(pool) == before  # nothing of the new branch written past the fork
        err = await pool.fetchval("select last_error from og.chain_state where chain_id = 8453")
        assert "deeper than the 3-block window" in err
        async with pool.acquire() as conn:
            shown = await chain_status(conn, chain, offline=True)
        assert "deeper than the 3-block window" in shown["follower"]["last_error"]


@asynccontextmanager
async def followed_through_proxy(devnet: DevnetPair, server_dsn: str) -> AsyncIterator[
    tuple[RpcProxy, Follower, asyncpg.Pool, RpcClient]
]:
    """Base with payments in blocks 1..5, followed (window 4) through a proxy as the primary URL
    and the node itself as the second; yields (proxy, follower, its pool, its client) once the
    follower has reached block 5."""
    url = devnet.urls["base"]
    mine(url, [payment(T0 + i * 60, payer(i), 1000 + i) for i in range(1, 6)])
    proxy = await RpcProxy(url).start()
    try:
        chain = replace(chain_cfg(devnet, "base", depth=4), rpc_urls=(proxy.url, url))
        async with fresh_pool(server_dsn) as pool, RpcClient(chain.rpc_urls, backoff_s=0.01) as rpc:
            f = Follower(rpc, pool, chain, FAST)
            await follow_until(f, 5)
            yield proxy, f, pool, rpc
    finally:
        await proxy.stop()


async def test_rpc_failover_primary_dies_mid_run_secondary_continues(devnet: DevnetPair, server_dsn: str) -> None:
    url = devnet.urls["base"]
    async with followed_through_proxy(devnet, server_dsn) as (primary, f, pool, rpc):
        primary.dead = True
        mine(url, [payment(T0 + 600 + i * 60, payer(20 + i), 3000 + i) for i in range(5)])
        await follow_until(f, 10)
        assert [p[2] for p in await paid(pool)] == [1000 + i for i in range(1, 6)] + [3000 + i for i in range(5)]
        assert rpc.stats.retries >= 1 and rpc.url == url


async def test_sigkill_during_live_follow_then_restart_converges(
    devnet: DevnetPair, server_dsn: str, tmp_path: Path
) -> None:
    truth = devnet.simulate(days=1, seed=9)
    conf = tmp_path / "c.toml"
    conf.write_text(
        "[chains.opengradient]\nmax_block_range = 7\nfinality_depth = 5\n"
        "[chains.base]\nmax_block_range = 7\nfinality_depth = 5\n"
    )
    heads = {n: await head(devnet.urls[n]) for n in ("opengradient", "base")}
    async with fresh_pool(server_dsn) as pool:
        env = {
            **os.environ,
            "DATABASE_URL": pool._connect_args[0],  # type: ignore[attr-defined]
            "OG_RPC_URL": devnet.urls["opengradient"],
            "BASE_RPC_URL": devnet.urls["base"],
            "OG_INDEXER_CONFIG": str(conf),
        }
        proc = start_cli(["run", "--poll-interval", "0.05", "--max-poll-interval", "0.2", "--concurrency", "1"], env)
        async with asyncio.timeout(60):
            while (await pool.fetchval("select count(*) from og.raw_logs")) < 300:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                await asyncio.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc = start_cli(["run", "--poll-interval", "0.05", "--max-poll-interval", "0.2"], env)
        async with asyncio.timeout(90):
            while True:
                tips = {
                    r["chain_id"]: r["m"]
                    for r in await pool.fetch("select chain_id, max(to_block) as m from og.indexed_ranges group by 1")
                }
                if tips == {10740: heads["opengradient"], 8453: heads["base"]}:
                    break
                assert proc.poll() is None
                await asyncio.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err.decode()
        assert "stopped cleanly" in out.decode()
        live = await digest(pool)
        assert await pool.fetchval("select count(*) from og.payments") == len(truth.payments)
    cfg = devnet_config(devnet.urls)
    async with fresh_pool(server_dsn) as pool:
        for n in ("opengradient", "base"):
            await run_backfill(pool, cfg.chain(n), 0, heads[n])
        assert await digest(pool) == live


async def test_sigkill_during_live_follow_then_restart_converges_exactly(
    devnet: DevnetPair, server_dsn: str, tmp_path: Path
) -> None:
    """Killed while following the head (not during catch-up), with blocks still arriving."""
    devnet.simulate(days=1, seed=13)
    url = devnet.urls["base"]
    conf = tmp_path / "c.toml"
    conf.write_text("[chains.base]\nmax_block_range = 7\nfinality_depth = 5\n")
    start_head = await head(url)
    async with fresh_pool(server_dsn) as pool:
        env = {
            **os.environ,
            "DATABASE_URL": pool._connect_args[0],  # type: ignore[attr-defined]
            "BASE_RPC_URL": url,
            "OG_INDEXER_CONFIG": str(conf),
        }
        args = ["run", "--chain", "base", "--poll-interval", "0.05", "--max-poll-interval", "0.1"]

        async def tip() -> int:
            return int(await pool.fetchval("select coalesce(max(to_block), -1) from og.indexed_ranges") or -1)

        proc = start_cli(args, env)
        async with asyncio.timeout(60):
            while await tip() < start_head:
                assert proc.poll() is None
                await asyncio.sleep(0.05)
        t_last = int(dev_call(url, "eth_getBlockByNumber", ["latest", False])["timestamp"], 16)  # type: ignore[index]
        for i in range(1, 31):
            mine(url, [payment(t_last + 60 * i, payer(900 + i), 7000 + i)])
            if i == 15:
                async with asyncio.timeout(30):
                    while await tip() < start_head + 10:
                        await asyncio.sleep(0.02)
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                proc = start_cli(args, env)
            await asyncio.sleep(0.03)
        async with asyncio.timeout(60):
            while await tip() < start_head + 30:
                assert proc.poll() is None
                await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err.decode()
        live = await digest(pool)
        assert (
            await pool.fetchval("select count(*) from og.payments where amount_raw > 7000 and amount_raw < 7100") == 30
        )
    async with fresh_pool(server_dsn) as pool:
        await run_backfill(pool, devnet_config(devnet.urls).chain("base"), 0, start_head + 30)
        assert await digest(pool) == live
