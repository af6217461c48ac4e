"""Measure what live following costs in RPC calls: per poll while the chain is idle, and per new block
while it is busy (one block a second, each with an x402 payment). Starts its own anvil and database.

    .venv/bin/python -m scripts.follow_rpc_cost [--seconds 20] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections import Counter
from dataclasses import replace

import asyncpg

from indexer import db, store
from indexer.config import BASE, load_config
from indexer.devnet.anvil import start_anvil
from indexer.devnet.anvil_client import AnvilClient as DevRpc
from indexer.devnet.contracts import install_chain
from indexer.devnet.plan import PlannedTx, event, mine_plan
from indexer.follow import Follower, FollowOptions
from indexer.roles import Role
from indexer.rpc import RpcClient

OPG = BASE.addresses_with_role(Role.TOKEN)[0]
UPTO = BASE.addresses_with_role(Role.X402_UPTO)[0]


def _payment(ts: int, n: int) -> PlannedTx:
    payer = "0x" + f"{n:040x}"
    emits = (
        event(BASE, OPG, "OPG_ERC20_Base.json", "Transfer", payer, BASE.pay_to[0], 10**15 + n),
        event(BASE, UPTO, "x402UptoPermit2Proxy.json", "Settled"),
    )
    return PlannedTx(ts, "0x" + "fa" * 20, UPTO, b"", emits)


async def measure(seconds: float, server_dsn: str) -> None:
    node = start_anvil(BASE.chain_id)
    name = f"og_follow_cost_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_dsn)
    await admin.execute(f"create database {name}")
    await admin.close()
    dsn = server_dsn.rsplit("/", 1)[0] + "/" + name
    pool = await db.create_pool(dsn)
    try:
        with DevRpc(node.url) as dev:
            install_chain(dev)
            t0 = int(dev.call("eth_getBlockByNumber", ["latest", False])["timestamp"], 16) + 60
            mine_plan(dev, [_payment(t0 + i, i) for i in range(5)])
        async with pool.acquire() as conn:
            await store.migrate(conn)
        chain = replace(load_config(None, {"BASE_RPC_URL": node.url}).chain("base"), finality_depth=64)
        async with RpcClient([node.url]) as rpc:
            follower = Follower(rpc, pool, chain, FollowOptions())
            stop = asyncio.Event()
            task = asyncio.create_task(follower.run(stop))
            while follower.stats.tip != 5:
                await asyncio.sleep(0.1)
            before = Counter(rpc.stats.calls)
            passes0 = follower.stats.passes
            await asyncio.sleep(seconds)
            idle = rpc.stats.calls - before
            idle_passes = follower.stats.passes - passes0
            before = Counter(rpc.stats.calls)
            blocks = 0
            start = time.monotonic()
            with DevRpc(node.url) as dev:
                while time.monotonic() - start < seconds:
                    mine_plan(dev, [_payment(t0 + 100 + blocks, 100 + blocks)])
                    blocks += 1
                    await asyncio.sleep(1.0)
            target = 5 + blocks
            while follower.stats.tip != target:
                await asyncio.sleep(0.05)
            busy = rpc.stats.calls - before
            stop.set()
            await task
        print(f"idle for {seconds:.0f} s: {idle_passes} polls, {sum(idle.values())} RPC calls {dict(idle)}")
        print(f"  = {sum(idle.values()) / seconds:.2f} calls/s while idle (poll interval backs off 1 s -> 15 s)")
        print(f"busy for {seconds:.0f} s: {blocks} new blocks, {sum(busy.values())} RPC calls {dict(busy)}")
        print(f"  = {sum(busy.values()) / blocks:.2f} calls per new block while busy")
    finally:
        await pool.close()
        admin = await asyncpg.connect(server_dsn)
        await admin.execute(f"drop database if exists {name} with (force)")
        await admin.close()
        node.stop()


def main() -> None:
    ap = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.split("\n", 1)[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    ap.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a Postgres server where a scratch database may be created",
    )
    args = ap.parse_args()
    asyncio.run(measure(args.seconds, args.database_url))


if __name__ == "__main__":
    main()
