"""RPC error classification (providers' range-limit messages), rate limits, span control and gap arithmetic."""

from __future__ import annotations

import asyncio
import time

import pytest

from indexer.rpc import RangeTooLarge, RateLimited, RetryableError, RpcClient, RpcError, classify_error, parse_log
from indexer.span import SpanControl
from indexer.store import Range, gaps


@pytest.mark.parametrize(
    ("message", "hint", "max_span"),
    [
        ("query returned more than 10000 results. Try with this block range [0x10, 0x1F].", (16, 31), None),
        (
            "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range "
            "and no limit on the response size, or you can request any block range with a cap of 10K logs "
            "in the response. Based on your parameters, this block range should work: [0x0, 0x7cf]",
            (0, 1999),
            2000,
        ),
        ("exceed maximum block range: 5000", None, 5000),
        ("eth_getLogs is limited to a 10,000 range", None, 10000),
        ("block range too large", None, None),
    ],
)
def test_range_errors_are_recognised_with_hints(message: str, hint: object, max_span: object) -> None:
    e = classify_error("eth_getLogs", {"code": -32000, "message": message})
    assert isinstance(e, RangeTooLarge)
    assert e.hint == hint
    assert e.max_span == max_span


def test_other_errors_are_retryable_or_fatal() -> None:
    assert isinstance(
        classify_error("eth_call", {"code": 429, "message": "Too many requests"}), RetryableError
    )
    fatal = classify_error("eth_getLogs", {"code": -32602, "message": "invalid params"})
    assert type(fatal) is RpcError


def test_span_control_uses_hint_then_grows_back() -> None:
    s = SpanControl(1000)
    assert s.refused(0, 999, RangeTooLarge("x", (0, 99), None)) == 100
    assert s.refused(0, 99, RangeTooLarge("x", None, None)) == 50
    for _ in range(8):
        s.succeeded()
    assert s.span == 200
    for _ in range(100):
        s.succeeded()
    assert s.span == 1000


def test_gaps() -> None:
    done = [Range(10, 19), Range(30, 39)]
    assert gaps(0, 50, done) == [Range(0, 9), Range(20, 29), Range(40, 50)]
    assert gaps(12, 18, done) == []
    assert gaps(15, 35, done) == [Range(20, 29)]
    assert gaps(0, 5, []) == [Range(0, 5)]


def test_malformed_log_is_rejected_not_written() -> None:
    good = {
        "blockNumber": "0x1",
        "blockHash": "0x" + "aa" * 32,
        "transactionHash": "0x" + "bb" * 32,
        "transactionIndex": "0x0",
        "logIndex": "0x0",
        "address": "0x" + "cc" * 20,
        "topics": ["0x" + "dd" * 32],
        "data": "0x",
    }
    assert parse_log(good).block_number == 1
    for key, bad in [("blockNumber", None), ("data", "zz"), ("blockHash", "0x12"), ("topics", "x")]:
        with pytest.raises(RetryableError):
            parse_log({**good, key: bad})
    with pytest.raises(RetryableError):
        parse_log({**good, "removed": True})


class _Limited(RpcClient):
    """A provider that answers HTTP 429 to the first `refusals` requests, then the block number."""

    def __init__(self, refusals: int, **kw: float) -> None:
        super().__init__(["http://unused"], chain_name="base", backoff_s=0.001, **kw)  # type: ignore[arg-type]
        self.refusals = refusals
        self.sent: list[float] = []

    async def _post_raw(self, payload: bytes) -> bytes:
        self.sent.append(time.monotonic())
        if len(self.sent) <= self.refusals:
            raise RateLimited("HTTP 429 from http://unused")
        return b'{"jsonrpc": "2.0", "id": 1, "result": "0x2a"}'


def test_a_rate_limit_is_waited_out_beyond_the_retry_count_and_pauses_every_request() -> None:
    rpc = _Limited(refusals=12)  # twice the 6 retries a transient failure gets
    assert asyncio.run(rpc.block_number()) == 42
    assert rpc.stats.errors["RateLimited"] == 12 and len(rpc.sent) == 13

    async def two_workers(client: _Limited) -> list[int]:
        return list(await asyncio.gather(client.block_number(), client.block_number()))

    paused = _Limited(refusals=1, rate_limit_budget_s=5.0)
    assert asyncio.run(two_workers(paused)) == [42, 42]
    assert paused._paused_until > 0  # the 429 paused the client: the other worker waited it out too


def test_a_rate_limit_that_never_lifts_fails_after_its_budget_naming_it() -> None:
    rpc = _Limited(refusals=10**9, rate_limit_budget_s=0.5)
    with pytest.raises(RpcError, match="still rate-limited after 0 s"):
        asyncio.run(rpc.block_number())
    assert len(rpc.sent) > 7  # not cut off at the transient retry count


def test_rate_limit_errors_are_told_apart_from_other_transient_ones() -> None:
    assert isinstance(classify_error("eth_call", {"code": 429, "message": "Too many requests"}), RateLimited)
    assert isinstance(classify_error("eth_call", {"code": -32005, "message": "project ID request rate exceeded"}),
                      RateLimited)
    busy = classify_error("eth_call", {"code": -32603, "message": "internal error"})
    assert isinstance(busy, RetryableError) and not isinstance(busy, RateLimited)
