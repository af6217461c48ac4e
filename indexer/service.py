"""`og-indexer run`: followers for several chains in one process, each failing alone; signals,
newHeads, metrics and health."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence

import aiohttp
import asyncpg
import orjson
from aiohttp import web

from .config import ChainConfig
from .follow import Follower, FollowOptions
from .rpc import RpcClient
from .sync import RpcSource, SyncError

log = logging.getLogger("og_indexer.service")


class ChainsStopped(SyncError):
    """`run` ended with chains stopped (the others were followed meanwhile): a non-zero exit."""


def http_url(url: str) -> str:
    """Calls go over HTTP; a ws(s) URL is used for the newHeads subscription as well."""
    if url.startswith("wss://"):
        return "https://" + url[len("wss://") :]
    if url.startswith("ws://"):
        return "http://" + url[len("ws://") :]
    return url


async def subscribe_new_heads(url: str, follower: Follower, stop: asyncio.Event) -> None:
    """Wake the follower on every newHeads notification; reconnect with back-off; polling goes on
    regardless, so a dead subscription only costs latency."""
    delay = 1.0
    while not stop.is_set():
        try:
            async with aiohttp.ClientSession() as s, s.ws_connect(url, heartbeat=30) as ws:
                # Closed on stop: an idle chain sends nothing, and shutdown must not wait for a block.
                closer = asyncio.create_task(_close_on(stop, ws))
                try:
                    await ws.send_str('{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}')
                    delay = 1.0
                    async for msg in ws:
                        if msg.type == aiohttp.WSMsgType.TEXT and '"eth_subscription"' in msg.data:
                            follower.wake.set()
                finally:
                    closer.cancel()
                if stop.is_set():
                    return
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            log.warning("new_heads_error chain=%s error=%s", follower.chain.name, e)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, 60.0)


async def _close_on(stop: asyncio.Event, ws: aiohttp.ClientWebSocketResponse) -> None:
    await stop.wait()
    await ws.close()


def metrics_text(followers: Sequence[Follower]) -> str:
    lines = [
        "# TYPE og_indexer_head gauge",
        "# TYPE og_indexer_indexed_block gauge",
        "# TYPE og_indexer_lag_blocks gauge",
        "# TYPE og_indexer_rows_written_total counter",
        "# TYPE og_indexer_logs_total counter",
        "# TYPE og_indexer_reorgs_total counter",
        "# TYPE og_indexer_errors_total counter",
        "# TYPE og_indexer_stalled gauge",
        "# TYPE og_indexer_rpc_calls_total counter",
        "# TYPE og_indexer_rpc_errors_total counter",
        "# TYPE og_indexer_lagging_answers_total counter",
        "# TYPE og_indexer_stopped gauge",
    ]
    for f in followers:
        c = f'chain="{f.chain.name}"'
        s = f.stats
        if s.head is not None:
            lines.append(f"og_indexer_head{{{c}}} {s.head}")
        if s.tip is not None:
            lines.append(f"og_indexer_indexed_block{{{c}}} {s.tip}")
        if s.head is not None and s.tip is not None:
            lines.append(f"og_indexer_lag_blocks{{{c}}} {max(0, s.head - s.tip)}")
        lines += [
            f"og_indexer_rows_written_total{{{c}}} {s.rows}",
            f"og_indexer_logs_total{{{c}}} {s.logs}",
            f"og_indexer_reorgs_total{{{c}}} {s.reorgs}",
            f"og_indexer_errors_total{{{c}}} {s.errors}",
            f"og_indexer_stalled{{{c}}} {int(s.stalled)}",
            f"og_indexer_lagging_answers_total{{{c}}} {s.lagging}",
            f"og_indexer_stopped{{{c}}} {int(s.stopped is not None)}",
        ]
        if not isinstance(f.source, RpcSource):  # call counters are the RPC client's
            continue
        for method, n in sorted(f.source.rpc.stats.calls.items()):
            lines.append(f'og_indexer_rpc_calls_total{{{c},method="{method}"}} {n}')
        for kind, n in sorted(f.source.rpc.stats.errors.items()):
            lines.append(f'og_indexer_rpc_errors_total{{{c},kind="{kind}"}} {n}')
    return "\n".join(lines) + "\n"


def health_report(followers: Sequence[Follower]) -> dict[str, dict[str, object]]:
    """Per chain: head, tip, and healthy unless stopped or stalled (/health answers 503 then)."""
    return {
        f.chain.name: {
            "healthy": f.stats.stopped is None and not f.stats.stalled,
            "head": f.stats.head,
            "tip": f.stats.tip,
            "stalled": f.stats.stalled,
            "stopped": f.stats.stopped,
        }
        for f in followers
    }


async def start_metrics(port: int, followers: Sequence[Follower]) -> web.AppRunner:
    async def handle(_: web.Request) -> web.Response:
        return web.Response(text=metrics_text(followers), content_type="text/plain")

    async def health(_: web.Request) -> web.Response:
        body = health_report(followers)
        ok = all(c["healthy"] for c in body.values())
        return web.Response(body=orjson.dumps(body), status=200 if ok else 503, content_type="application/json")

    app = web.Application()
    app.router.add_get("/metrics", handle)
    app.router.add_get("/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def run_service(
    pool: asyncpg.Pool,
    chains: Sequence[ChainConfig],
    opts: FollowOptions,
    *,
    metrics_port: int | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Follow every chain until SIGINT/SIGTERM (or `stop`), or until every chain has stopped; each
    stops cleanly between transactions. A chain that must stop (a reorg too deep) stops alone while
    the others go on; the call then ends with ChainsStopped naming it."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    clients = [RpcClient([http_url(u) for u in c.rpc_urls], chain_name=c.name) for c in chains]
    followers: list[Follower] = []
    try:
        for client, chain in zip(clients, chains, strict=True):
            await client.check_chain_id(chain.chain_id)
            followers.append(Follower(client, pool, chain, opts))
        runner = await start_metrics(metrics_port, followers) if metrics_port else None
        follows = {asyncio.create_task(f.run(stop), name=f"follow-{f.chain.name}"): f for f in followers}
        subscriptions = []
        for f in followers:
            ws = next((u for u in f.chain.rpc_urls if u.startswith(("ws://", "wss://"))), None)
            if ws:
                subscriptions.append(asyncio.create_task(subscribe_new_heads(ws, f, stop)))
        try:
            await _until_all_end(follows)
        finally:
            stop.set()
            await asyncio.gather(*follows, *subscriptions, return_exceptions=True)
            if runner is not None:
                await runner.cleanup()
    finally:
        for c in clients:
            await c.close()
    stopped = [f for f in followers if f.stats.stopped is not None]
    if stopped:
        raise ChainsStopped("; ".join(f"{f.chain.name} stopped: {f.stats.stopped}" for f in stopped))


async def _until_all_end(follows: dict[asyncio.Task[None], Follower]) -> None:
    """Wait for every follower: a chain that fails stops alone (loudly), the others go on."""
    pending = set(follows)
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            f = follows[t]
            if t.cancelled() or t.exception() is None:
                continue
            e = t.exception()
            if f.stats.stopped is None:
                f.stats.stopped = f"{type(e).__name__}: {e}"
                log.error("chain_stopped chain=%s reason=%s", f.chain.name, f.stats.stopped)
            if pending:
                log.error(
                    "following_on chain_stopped=%s still_followed=%s",
                    f.chain.name,
                    ",".join(follows[p].chain.name for p in pending),
                )
