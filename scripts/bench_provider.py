"""A hosted provider's conditions on loopback, for the benchmark: a JSON-RPC proxy in front of anvil with
added latency, an eth_getLogs result cap and block-range limit refused with the major providers'
error texts, and a request-rate limit answered with HTTP 429.

Runs its own event loop in a thread of the benchmark process (the measured pipelines run in
subprocesses), listens on 127.0.0.1 only, and counts what it served and refused.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web


@dataclass(frozen=True)
class Profile:
    latency_s: float = 0.080  # added to every HTTP request (before it is answered or refused)
    max_results: int = 10_000  # eth_getLogs answers above this are refused (Infura, Alchemy: 10k)
    max_range: int = 2_000  # eth_getLogs spans above this are refused (Alchemy-style "2K block range")
    rate_per_s: float = 1_000.0  # JSON-RPC calls per second (each call of a batch counts), 1 s burst

    def describe(self) -> str:
        return (f"latency {self.latency_s * 1000:.0f} ms, eth_getLogs cap {self.max_results:,} results and "
                f"{self.max_range:,} blocks, {self.rate_per_s:,.0f} calls/s (429 above)")

    def bound_s(self, get_logs: int, calls: int, http_requests: int, concurrency: int) -> float:
        """The least time any client needs for that work here: the rate limit, or the latency paid by
        `concurrency` requests in flight, whichever binds."""
        return max(calls / self.rate_per_s, http_requests * self.latency_s / max(1, concurrency))


def minimum_work(blocks: int, logs: int, blocks_with_logs: int, txs_read: int, profile: Profile,
                 batch: int = 200, payment_blocks: int = 0) -> tuple[int, int, int]:
    """(eth_getLogs calls, JSON-RPC calls, HTTP requests) that one chain's range needs at the least:
    spans within the range limit and the result cap, the headers of the blocks with logs (their time),
    the transactions the rows read and, by block hash, the x402 proxy logs of the blocks holding a
    payment, batched."""
    get_logs = max(math.ceil(blocks / profile.max_range), math.ceil(logs / profile.max_results))
    lookups = blocks_with_logs + txs_read + payment_blocks
    http = get_logs + sum(math.ceil(n / batch) for n in (blocks_with_logs, txs_read, payment_blocks))
    return get_logs, get_logs + lookups, http


@dataclass
class ProviderProxy:
    upstream: str
    profile: Profile
    url: str = ""
    served: int = 0
    refused_results: int = 0
    refused_range: int = 0
    limited: int = 0
    _tokens: float = 0.0
    _stamp: float = field(default_factory=time.monotonic)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None

    def start(self) -> ProviderProxy:
        ready = threading.Event()
        self._tokens = self.profile.rate_per_s

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._open())
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._close())
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="provider-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the provider proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def counts(self) -> dict[str, int]:
        return {"served": self.served, "refused_results": self.refused_results,
                "refused_range": self.refused_range, "rate_limited": self.limited}

    async def _open(self) -> None:
        app = web.Application(client_max_size=64 << 20)
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300))

    async def _close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _admit(self, n_calls: int) -> bool:
        now = time.monotonic()
        self._tokens = min(self.profile.rate_per_s, self._tokens + (now - self._stamp) * self.profile.rate_per_s)
        self._stamp = now
        if self._tokens < n_calls:
            return False
        self._tokens -= n_calls
        return True

    def _range_refusal(self, call: dict[str, Any]) -> dict[str, Any] | None:
        f = call["params"][0]
        if "blockHash" in f:  # one block, asked by hash: no range to cap
            return None
        lo, hi = int(f["fromBlock"], 16), int(f["toBlock"], 16)
        if hi - lo + 1 <= self.profile.max_range:
            return None
        self.refused_range += 1
        message = (f"Log response size exceeded. You can make eth_getLogs requests with up to a "
                   f"{self.profile.max_range // 1000}K block range and no limit on the response size, or you can "
                   f"request any block range with a cap of {self.profile.max_results // 1000}K logs in the response. "
                   f"Based on your parameters, this block range should work: "
                   f"[{hex(lo)}, {hex(lo + self.profile.max_range - 1)}]")
        return {"jsonrpc": "2.0", "id": call.get("id"), "error": {"code": -32602, "message": message}}

    def _result_refusal(self, call: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        logs = answer.get("result")
        if not isinstance(logs, list) or len(logs) <= self.profile.max_results or "fromBlock" not in call["params"][0]:
            return answer
        self.refused_results += 1
        lo = int(call["params"][0]["fromBlock"], 16)
        fits = max(lo, int(logs[self.profile.max_results]["blockNumber"], 16) - 1)
        message = (f"query returned more than {self.profile.max_results} results. "
                   f"Try with this block range [{hex(lo)}, {hex(fits)}].")
        return {"jsonrpc": "2.0", "id": call.get("id"), "error": {"code": -32005, "message": message}}

    async def _handle(self, request: web.Request) -> web.Response:
        payload = json.loads(await request.read())
        calls = payload if isinstance(payload, list) else [payload]
        await asyncio.sleep(self.profile.latency_s)
        if not self._admit(len(calls)):
            self.limited += 1
            return web.Response(status=429, text="Too Many Requests")
        answers: list[Any] = [self._range_refusal(c) if c.get("method") == "eth_getLogs" else None for c in calls]
        forward = [c for c, a in zip(calls, answers, strict=True) if a is None]
        if forward:
            assert self._session is not None
            async with self._session.post(self.upstream, json=forward) as resp:
                by_id = {a["id"]: a for a in await resp.json(content_type=None)}
            for i, c in enumerate(calls):
                if answers[i] is None:
                    got = by_id[c.get("id")]
                    answers[i] = self._result_refusal(c, got) if c.get("method") == "eth_getLogs" else got
        self.served += len(calls)
        body = json.dumps(answers if isinstance(payload, list) else answers[0])
        return web.Response(text=body, content_type="application/json")
