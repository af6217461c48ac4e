"""A loopback JSON-RPC proxy for tests: forwards to a real node, enforces an eth_getLogs block-range
cap like hosted providers do, injects 429s, 5xx, timeouts and garbage at a seeded rate, can lie
consistently (rewrite: every occurrence of a text in its answers replaced, and back in its requests, e.g.
block hashes), and can lag (head_lag: it serves the chain as it was that many blocks ago, like a node still syncing)."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web


@dataclass
class Faults:
    max_range: int | None = None  # eth_getLogs spans above this are refused with a hint
    rate: float = 0.0  # probability a request gets a fault
    kinds: tuple[str, ...] = ("429", "500", "timeout", "garbage", "bad_result", "reset")
    timeout_s: float = 3.0
    seed: int = 1


@dataclass
class RpcProxy:
    upstream: str
    faults: Faults = field(default_factory=Faults)
    injected: dict[str, int] = field(default_factory=dict)
    refused_ranges: int = 0
    requests: int = 0
    dead: bool = False
    rewrite: dict[str, str] = field(default_factory=dict)  # text replaced in every answer (and back in
    # requests): a lying node
    head_lag: int = 0  # blocks this node is behind the upstream head
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None
    url: str = ""

    async def start(self) -> RpcProxy:
        self._rng = random.Random(self.faults.seed)
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    def _fault(self) -> str | None:
        if self.faults.rate and self._rng.random() < self.faults.rate:
            kind = self.faults.kinds[sum(self.injected.values()) % len(self.faults.kinds)]  # every kind in turn
            self.injected[kind] = self.injected.get(kind, 0) + 1
            return kind
        return None

    def _refusal(self, call: dict[str, Any]) -> dict[str, Any] | None:
        if self.faults.max_range is None or call.get("method") != "eth_getLogs":
            return None
        f = call["params"][0]
        if "blockHash" in f:  # one block, asked by hash: no range to cap
            return None
        lo, hi = int(f["fromBlock"], 16), int(f["toBlock"], 16)
        if hi - lo + 1 <= self.faults.max_range:
            return None
        self.refused_ranges += 1
        suggested = lo + self.faults.max_range - 1
        msg = (
            f"query returned more than 10000 results. Try with this block range [{hex(lo)}, {hex(suggested)}]."
            if self.refused_ranges % 2
            else f"exceed maximum block range: {self.faults.max_range}"
        )
        return {"jsonrpc": "2.0", "id": call.get("id"), "error": {"code": -32005, "message": msg}}

    async def _lagged_head(self) -> int:
        assert self._session is not None
        call = {"jsonrpc": "2.0", "id": 0, "method": "eth_blockNumber", "params": []}
        async with self._session.post(self.upstream, json=call) as resp:
            real = int((await resp.json())["result"], 16)
        return max(0, real - self.head_lag)

    def _lagging(self, call: dict[str, Any], head: int) -> dict[str, Any] | None:
        """The answer of a node whose head is `head` where it differs from upstream's (None: forward,
        after moving a tag to that head); a refusal where the range cap applies."""
        method, params = call.get("method"), call.get("params") or []
        if method == "eth_blockNumber":
            return _lagging_answer(call, hex(head))
        if method == "eth_getBlockByNumber":
            if params[0] in ("latest", "safe", "finalized", "pending"):
                params[0] = hex(head)
            elif int(params[0], 16) > head:
                return _lagging_answer(call, None)
        if method == "eth_getLogs" and "toBlock" in params[0] and int(params[0]["toBlock"], 16) > head:
            if int(params[0]["fromBlock"], 16) > head:
                return _lagging_answer(call, [])
            params[0]["toBlock"] = hex(head)  # it has the logs up to its head only
        return self._refusal(call)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if self.dead:
            raise ConnectionResetError("proxy is dead")
        body = await request.read()
        fault = self._fault()
        if fault == "429":
            return web.Response(status=429, text="Too Many Requests")
        if fault == "500":
            return web.Response(status=502, text="Bad Gateway")
        if fault == "timeout":
            await asyncio.sleep(self.faults.timeout_s)
            return web.Response(status=504)
        if fault == "garbage":
            return web.Response(status=200, text="<html>oops</html>", content_type="text/html")
        if fault == "reset":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=200)
        text_in = body.decode()
        for old, new in self.rewrite.items():  # a lying node answers for the hashes it told, too
            text_in = text_in.replace(new, old)
        payload = json.loads(text_in)
        calls = payload if isinstance(payload, list) else [payload]
        answers: list[Any] = []
        forward: list[dict[str, Any]] = []
        lagged_head = await self._lagged_head() if self.head_lag else None
        for call in calls:
            refusal = self._refusal(call) if lagged_head is None else self._lagging(call, lagged_head)
            answers.append(refusal)
            if refusal is None:
                forward.append(call)
        if forward:
            assert self._session is not None
            async with self._session.post(self.upstream, json=forward) as resp:
                upstream = await resp.json()
            by_id = {a["id"]: a for a in upstream}
            answers = [a if a is not None else by_id[c.get("id")] for a, c in zip(answers, calls, strict=True)]
        if fault == "bad_result":
            answers = [_corrupt(a) for a in answers]
        out = answers if isinstance(payload, list) else answers[0]
        text = json.dumps(out)
        for old, new in self.rewrite.items():
            text = text.replace(old, new)
        return web.Response(text=text, content_type="application/json")


def _lagging_answer(call: dict[str, Any], result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": call.get("id"), "result": result}


def _corrupt(answer: dict[str, Any]) -> dict[str, Any]:
    """Make an answer wrong in a way validation must catch (never silently accept)."""
    result = answer.get("result")
    if isinstance(result, list) and result and isinstance(result[0], dict):
        bad = dict(result[0])
        bad["blockNumber"] = hex(int(bad["blockNumber"], 16) + 10_000_000)  # outside the requested range
        return {**answer, "result": [bad, *result[1:]]}
    if isinstance(result, dict):
        return {**answer, "result": {**result, "hash": "0xdead"}}
    return {**answer, "result": "0xzz"}
