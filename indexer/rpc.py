"""JSON-RPC client: batching, retries with backoff, URL failover, and validation of every answer."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from . import wire
from .chain import Block, Log, Tx
from .config import redact_url
from .errors import OgIndexerError


class RpcError(OgIndexerError):
    """An RPC call failed for good (after retries), or the node answered something unusable."""


class RetryableError(RpcError):
    """A failure worth retrying: timeout, 429, 5xx, connection reset, malformed answer."""


class RateLimited(RetryableError):
    """The provider asks us to slow down (HTTP 429, a JSON-RPC rate-limit error): retried for as long
    as RpcClient.rate_limit_budget_s allows, not a number of times, with every request of the client
    paused meanwhile."""


class RangeTooLarge(RpcError):
    """The provider refused an eth_getLogs span. `hint` is the span it suggested, if it said one."""

    def __init__(self, message: str, hint: tuple[int, int] | None, max_span: int | None) -> None:
        super().__init__(message)
        self.hint = hint
        self.max_span = max_span


# How RpcStats counts eth_getLogs calls by block hash, apart from those over a block range.
BY_BLOCK_HASH = "eth_getLogs(blockHash)"


class UnknownBlock(RpcError):
    """The node does not know a block asked for by hash: it left the chain since it was read."""


class ChainIdMismatch(RpcError):
    pass


_RANGE_PATTERNS = (
    "range too large",
    "range is too large",
    "block range",
    "too many results",
    "returned more than",
    "response size exceeded",
    "limit exceeded",
    "exceed maximum",
    "is limited to",
    "max range",
    "too many logs",
    "query timeout exceeded",
)
_HINT = re.compile(r"\[\s*(0x[0-9a-fA-F]+)\s*,\s*(0x[0-9a-fA-F]+)\s*\]")
_MAX_SPAN = re.compile(
    r"(?:maximum block range|limited to an?|max range|up to an?)[^0-9]{0,20}([0-9][0-9,]*)\s*(k?)", re.I
)


def classify_error(method: str, error: Mapping[str, Any]) -> RpcError:
    """Map a JSON-RPC error object to the exception class the caller acts on."""
    message = str(error.get("message", error))
    code = error.get("code")
    lowered = message.lower()
    if method == "eth_getLogs" and any(p in lowered for p in _RANGE_PATTERNS):
        hint = None
        m = _HINT.search(message)
        if m:
            hint = (int(m.group(1), 16), int(m.group(2), 16))
        max_span = None
        m2 = _MAX_SPAN.search(message)
        if m2:
            max_span = int(m2.group(1).replace(",", "")) * (1000 if m2.group(2).lower() == "k" else 1)
        return RangeTooLarge(f"{method}: {message}", hint, max_span)
    if code == 429 or any(p in lowered for p in ("rate limit", "too many requests", "request rate", "rate exceeded")):
        return RateLimited(f"{method}: {message} (code {code})")
    if code in (-32005, -32603) or "timeout" in lowered or "busy" in lowered:
        return RetryableError(f"{method}: {message} (code {code})")
    return RpcError(f"{method}: {message} (code {code})")


@dataclass
class RpcStats:
    calls: Counter[str] = field(default_factory=Counter)  # by method, each batch element counted
    http_requests: int = 0
    bytes_received: int = 0  # answer bodies, as read from the wire
    errors: Counter[str] = field(default_factory=Counter)
    retries: int = 0


def _qty(value: Any, what: str) -> int:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RetryableError(f"malformed answer: {what} is {value!r}, expected a 0x quantity")
    try:
        return int(value, 16)
    except ValueError:
        raise RetryableError(f"malformed answer: {what} is {value!r}") from None


def _hash(value: Any, what: str, size: int = 32) -> str:
    if not isinstance(value, str) or len(value) != 2 + 2 * size or not value.startswith("0x"):
        raise RetryableError(f"malformed answer: {what} is {value!r}")
    return value.lower()


def _bytes(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RetryableError(f"malformed answer: {what} is {value!r}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise RetryableError(f"malformed answer: {what} is not hex") from None


def parse_log(raw: Any) -> Log:
    """A validated Log, or RetryableError naming the field that is wrong. (The common well-formed
    answer is read faster by wire.logs, which accepts nothing this does not.)"""
    if not isinstance(raw, dict):
        raise RetryableError(f"malformed answer: log is {type(raw).__name__}")
    if raw.get("removed"):
        raise RetryableError("answer contains a removed log")
    topics = raw.get("topics")
    if not isinstance(topics, list) or len(topics) > 4:
        raise RetryableError(f"malformed answer: topics {topics!r}")
    return Log(
        block_number=_qty(raw.get("blockNumber"), "log.blockNumber"),
        block_hash=_hash(raw.get("blockHash"), "log.blockHash"),
        tx_hash=_hash(raw.get("transactionHash"), "log.transactionHash"),
        tx_index=_qty(raw.get("transactionIndex"), "log.transactionIndex"),
        log_index=_qty(raw.get("logIndex"), "log.logIndex"),
        address=_hash(raw.get("address"), "log.address", 20),
        topics=tuple(_hash(t, "log.topic") for t in topics),
        data=_bytes(raw.get("data"), "log.data"),
    )


def parse_block(raw: Any, number: int) -> Block:
    if not isinstance(raw, dict):
        raise RetryableError(f"block {number} not found (answer {raw!r})")
    b = Block(
        number=_qty(raw.get("number"), "block.number"),
        hash=_hash(raw.get("hash"), "block.hash"),
        parent_hash=_hash(raw.get("parentHash"), "block.parentHash"),
        timestamp=_qty(raw.get("timestamp"), "block.timestamp"),
    )
    if b.number != number:
        raise RetryableError(f"asked for block {number}, got {b.number}")
    return b


def parse_tx(raw: Any, tx_hash: str) -> Tx:
    """The validated Tx asked for, or RetryableError naming what is wrong (wire.transactions reads
    the common well-formed batch faster)."""
    if not isinstance(raw, dict):
        raise RetryableError(f"transaction {tx_hash} not found (answer {raw!r})")
    to = raw.get("to")
    tx = Tx(
        hash=_hash(raw.get("hash"), "tx.hash"),
        block_number=_qty(raw.get("blockNumber"), "tx.blockNumber"),
        block_hash=_hash(raw.get("blockHash"), "tx.blockHash"),
        tx_index=_qty(raw.get("transactionIndex"), "tx.transactionIndex"),
        sender=_hash(raw.get("from"), "tx.from", 20),
        to=_hash(to, "tx.to", 20) if to is not None else None,
        input=_bytes(raw.get("input", raw.get("data")), "tx.input"),
    )
    if tx.hash != tx_hash:
        raise RetryableError(f"asked for transaction {tx_hash}, got {tx.hash}")
    return tx


class RpcClient:
    """Talks to one chain through one or more URLs; the first URL is preferred, the others take
    over on errors. Only idempotent reads are sent, so every call may be retried."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        chain_name: str = "",
        retries: int = 6,
        timeout_s: float = 30.0,
        backoff_s: float = 0.25,
        max_batch: int = 200,
        rate_limit_budget_s: float = 300.0,
    ) -> None:
        if not urls:
            raise RpcError(f"{chain_name}: no RPC URL configured")
        self.urls = list(urls)
        self.chain_name = chain_name
        self.retries = retries
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.backoff_s = backoff_s
        self.max_batch = max_batch
        self.rate_limit_budget_s = rate_limit_budget_s
        self.stats = RpcStats()
        self._paused_until = 0.0  # a rate limit was met: no request leaves before this (monotonic)
        self._active = 0
        self._session: aiohttp.ClientSession | None = None
        self._ids = 0

    async def __aenter__(self) -> RpcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def rotate(self) -> None:
        """Prefer the next URL from now on (fail-over, or a second opinion)."""
        self._active = (self._active + 1) % len(self.urls)

    @property
    def url(self) -> str:
        return self.urls[self._active]

    def _sess(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout, connector=aiohttp.TCPConnector(limit=32))
        return self._session

    async def _post_raw(self, payload: bytes) -> bytes:
        """The body of the answer to one HTTP request; HTTP and transport failures raised typed."""
        url = self.url
        self.stats.http_requests += 1
        try:
            async with self._sess().post(url, data=payload, headers={"Content-Type": "application/json"}) as resp:
                body = await resp.read()
                self.stats.bytes_received += len(body)
                if resp.status == 429:
                    raise RateLimited(f"HTTP 429 from {redact_url(url)}")
                if resp.status >= 500:
                    raise RetryableError(f"HTTP {resp.status} from {redact_url(url)}")
                if resp.status >= 400:
                    raise RpcError(f"HTTP {resp.status} from {redact_url(url)}: {body[:200]!r}")
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as e:
            raise RetryableError(f"{type(e).__name__} talking to {redact_url(url)}: {e}") from e
        return body

    def _json(self, body: bytes) -> Any:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as e:
            raise RetryableError(f"malformed answer from {redact_url(self.url)}: not JSON") from e

    async def _with_retries(self, what: str, attempt_fn: Any) -> Any:
        """attempt_fn until it succeeds: a transient failure is tried `retries` times more, with
        exponential backoff; a rate limit for up to rate_limit_budget_s, pausing every request of this
        client (its other workers too) for the backoff, so that together they slow to what the
        provider allows instead of giving up a backfill over it."""
        delay = self.backoff_s
        last: Exception | None = None
        limited_since: float | None = None
        attempt = 0
        while attempt <= self.retries:
            if (wait := self._paused_until - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            try:
                return await attempt_fn()
            except RateLimited as e:
                last = e
                self.stats.errors[type(e).__name__] += 1
                now = time.monotonic()
                limited_since = now if limited_since is None else limited_since
                if now - limited_since >= self.rate_limit_budget_s:
                    break
                self.stats.retries += 1
                self._paused_until = max(self._paused_until, now + delay * (0.5 + random.random()))
                delay = min(delay * 2, 8.0)
            except RetryableError as e:
                last = e
                self.stats.errors[type(e).__name__] += 1
                if attempt == self.retries:
                    break
                attempt += 1
                self.stats.retries += 1
                if len(self.urls) > 1:
                    self._active = (self._active + 1) % len(self.urls)
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 8.0)
        if isinstance(last, RateLimited):
            raise RpcError(f"{what} on {self.chain_name}: still rate-limited after "
                           f"{self.rate_limit_budget_s:.0f} s: {last}") from last
        raise RpcError(f"{what} on {self.chain_name} failed after {self.retries + 1} attempts: {last}") from last

    async def call(self, method: str, params: list[Any]) -> Any:
        """One call; JSON-RPC errors become typed exceptions, transient ones are retried."""
        return await self._with_retries(method, lambda: self._call_once(method, params))

    async def _call_once(self, method: str, params: list[Any]) -> Any:
        return self._result(method, self._json(await self._send(method, params)))

    async def _send(self, method: str, params: list[Any]) -> bytes:
        self._ids += 1
        self.stats.calls[method] += 1
        return await self._post_raw(
            orjson.dumps({"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params})
        )

    @staticmethod
    def _result(method: str, answer: Any) -> Any:
        """The result of a JSON-RPC answer; errors become typed exceptions."""
        if not isinstance(answer, dict):
            raise RetryableError(f"malformed answer to {method}: {type(answer).__name__}")
        if "error" in answer and answer["error"] is not None:
            err = answer["error"]
            raise classify_error(method, err if isinstance(err, dict) else {"message": str(err)})
        if "result" not in answer:
            raise RetryableError(f"malformed answer to {method}: no result")
        return answer["result"]

    async def _batch_chunk(self, method: str, chunk: Sequence[list[Any]], label: str = "") -> list[Any]:
        base, body = await self._send_batch(method, chunk, label)
        return self._batch_results(method, base, len(chunk), self._json(body))

    async def _send_batch(self, method: str, chunk: Sequence[list[Any]], label: str = "") -> tuple[int, bytes]:
        """One HTTP batch request; the id of its first call and the answer's body. Its calls are
        counted under `label` when given (a kind of call apart from the method's usual one)."""
        base = self._ids
        self._ids += len(chunk)
        self.stats.calls[label or method] += len(chunk)
        req = [{"jsonrpc": "2.0", "id": base + k, "method": method, "params": p} for k, p in enumerate(chunk)]
        return base, await self._post_raw(orjson.dumps(req))

    @staticmethod
    def _batch_results(method: str, base: int, n: int, answer: Any) -> list[Any]:
        if not isinstance(answer, list) or len(answer) != n:
            raise RetryableError(f"malformed batch answer to {method}")
        by_id: dict[int, Any] = {}
        for item in answer:
            if not isinstance(item, dict) or "id" not in item:
                raise RetryableError(f"malformed batch item for {method}")
            if item.get("error") is not None:
                err = item["error"]
                raise classify_error(method, err if isinstance(err, dict) else {"message": str(err)})
            by_id[item["id"]] = item.get("result")
        try:
            return [by_id[base + k] for k in range(n)]
        except KeyError:
            raise RetryableError(f"batch answer to {method} is missing ids") from None

    # --- typed reads -------------------------------------------------------------------------

    async def chain_id(self) -> int:
        return _qty(await self.call("eth_chainId", []), "chainId")

    async def check_chain_id(self, expected: int) -> None:
        """Every configured URL must serve the configured chain (a Base URL in the OpenGradient
        slot must not index the wrong chain)."""
        for i, url in enumerate(self.urls):
            self._active = i
            got = await self.chain_id()
            if got != expected:
                raise ChainIdMismatch(
                    f"{self.chain_name}: RPC {redact_url(url)} serves chain id {got}, "
                    f"but chain {self.chain_name!r} is configured with id {expected}"
                )
        self._active = 0

    async def block_number(self) -> int:
        return _qty(await self.call("eth_blockNumber", []), "blockNumber")

    async def block_by_tag(self, tag: str) -> Block:
        raw = await self.call("eth_getBlockByNumber", [tag, False])
        if not isinstance(raw, dict):
            raise RpcError(f"{self.chain_name}: no block for tag {tag!r}")
        return parse_block(raw, _qty(raw.get("number"), "block.number"))

    # Batches are retried one by one: a rate-limited provider (HTTP 429 past a budget of calls) then
    # answers every batch in turn, where retrying all of a range's batches together could never pass.

    async def blocks(self, numbers: Iterable[int]) -> dict[int, Block]:
        nums = sorted(set(numbers))
        out: dict[int, Block] = {}
        for i in range(0, len(nums), self.max_batch):
            chunk = nums[i : i + self.max_batch]

            async def attempt(chunk: list[int] = chunk) -> dict[int, Block]:
                raws = await self._batch_chunk("eth_getBlockByNumber", [[hex(n), False] for n in chunk])
                return {n: parse_block(r, n) for n, r in zip(chunk, raws, strict=True)}

            out.update(await self._with_retries("eth_getBlockByNumber", attempt))
        return out

    async def transactions(self, hashes: Iterable[str]) -> dict[str, Tx]:
        hs = sorted(set(hashes))
        out: dict[str, Tx] = {}
        method = "eth_getTransactionByHash"
        for i in range(0, len(hs), self.max_batch):
            chunk = hs[i : i + self.max_batch]

            # Parsed chunk by chunk: a chunk's raw answers (inputs as hex) are let go before the next.
            async def attempt(chunk: list[str] = chunk) -> dict[str, Tx]:
                base, body = await self._send_batch(method, [[h] for h in chunk])
                try:
                    return dict(zip(chunk, wire.transactions(body, base, chunk), strict=True))
                except wire.NotPlain:  # read the general way, which names what is wrong
                    raws = self._batch_results(method, base, len(chunk), self._json(body))
                    return {h: parse_tx(r, h) for h, r in zip(chunk, raws, strict=True)}

            out.update(await self._with_retries(method, attempt))
        return out

    async def logs_in_blocks(self, addresses: Sequence[str], block_hashes: Iterable[str]) -> dict[str, list[Log]]:
        """Logs of the addresses in each block, asked by block hash (eth_getLogs with blockHash,
        EIP-234; in batches like transactions), validated as get_logs validates a range: each of that
        block and one of the addresses, once, in log order. A block the node does not know (reorged
        away since it was read) raises UnknownBlock, for the caller to read the range again."""
        hs = sorted(set(block_hashes))
        out: dict[str, list[Log]] = {}
        method = "eth_getLogs"
        wanted = set(addresses)
        for i in range(0, len(hs), self.max_batch):
            chunk = hs[i : i + self.max_batch]

            async def attempt(chunk: list[str] = chunk) -> dict[str, list[Log]]:
                params = [[{"blockHash": h, "address": sorted(wanted)}] for h in chunk]
                try:
                    raws = await self._batch_chunk(method, params, BY_BLOCK_HASH)
                except RetryableError:
                    raise
                except RpcError as e:  # what a node answers for a hash it does not know
                    raise UnknownBlock(f"{method} by block hash ({len(chunk)} blocks): {e}") from e
                got: dict[str, list[Log]] = {}
                for h, raw in zip(chunk, raws, strict=True):
                    logs = self._parse_logs(raw)
                    seen: set[int] = set()
                    for g in logs:
                        if g.block_hash != h or g.address not in wanted or g.log_index in seen:
                            raise RetryableError(f"{method} of block {h} returned log {g.block_number}/"
                                                 f"{g.log_index} of {g.address} in block {g.block_hash}")
                        seen.add(g.log_index)
                    got[h] = sorted(logs, key=lambda g: g.log_index)
                return got

            out.update(await self._with_retries(method, attempt))
        return out

    async def code_sizes(self, at: Sequence[tuple[str, int]]) -> list[int | None]:
        """Byte length of each address's code at a block number (eth_getCode, in batches): 0 for an
        externally owned account at that block, None where the node refused that block (a node that
        keeps no state that old answers so: anvil by default on long chains, non-archive nodes)."""

        async def attempt() -> list[int | None]:
            out: list[int | None] = []
            for i in range(0, len(at), self.max_batch):
                chunk = at[i : i + self.max_batch]
                base, body = await self._send_batch("eth_getCode", [[a, hex(n)] for a, n in chunk])
                answer = self._json(body)
                if not isinstance(answer, list) or len(answer) != len(chunk):
                    raise RetryableError("malformed batch answer to eth_getCode")
                by_id = {item.get("id"): item for item in answer if isinstance(item, dict)}
                for k, (address, _) in enumerate(chunk):
                    item = by_id.get(base + k)
                    if item is None:
                        raise RetryableError("batch answer to eth_getCode is missing ids")
                    err = item.get("error")
                    if err is None:
                        out.append(len(_bytes(item.get("result"), f"code of {address}")))
                        continue
                    refused = classify_error("eth_getCode", err if isinstance(err, dict) else {"message": str(err)})
                    if isinstance(refused, RetryableError):
                        raise refused
                    out.append(None)
            return out

        result: list[int | None] = await self._with_retries("eth_getCode", attempt)
        return result

    async def get_logs(self, addresses: Sequence[str], lo: int, hi: int) -> list[Log]:
        """Logs of the addresses in [lo, hi], validated: every log inside the range, no removed
        logs, sorted by (block, log index), no duplicates."""

        async def attempt() -> list[Log]:
            body = await self._send(
                "eth_getLogs", [{"fromBlock": hex(lo), "toBlock": hex(hi), "address": list(addresses)}]
            )
            try:
                logs = wire.logs(body)
            except wire.NotPlain:  # read the general way, which names what is wrong
                logs = self._parse_logs(self._result("eth_getLogs", self._json(body)))
            del body
            wanted = set(addresses)
            seen: set[tuple[int, int]] = set()
            hashes: dict[int, str] = {}
            for log in logs:
                if not lo <= log.block_number <= hi:
                    raise RetryableError(f"eth_getLogs {lo}-{hi} returned a log of block {log.block_number}")
                if log.address not in wanted:
                    raise RetryableError(f"eth_getLogs returned a log of unrequested address {log.address}")
                key = (log.block_number, log.log_index)
                if key in seen:
                    raise RetryableError(f"eth_getLogs returned log {key} twice")
                seen.add(key)
                if hashes.setdefault(log.block_number, log.block_hash) != log.block_hash:
                    raise RetryableError(f"eth_getLogs returned two hashes for block {log.block_number}")
            logs.sort(key=lambda g: (g.block_number, g.log_index))
            return logs

        result: list[Log] = await self._with_retries(f"eth_getLogs {lo}-{hi}", attempt)
        return result

    @staticmethod
    def _parse_logs(raw: Any) -> list[Log]:
        if not isinstance(raw, list):
            raise RetryableError(f"malformed answer to eth_getLogs: {type(raw).__name__}")
        logs = []
        for i, r in enumerate(raw):
            logs.append(parse_log(r))
            raw[i] = None  # each raw log goes as soon as it is parsed: memory is one answer, not two
        return logs
