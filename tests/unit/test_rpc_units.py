"""RPC error classification (providers' range-limit messages), span control and gap arithmetic."""

from __future__ import annotations

import pytest

from indexer.rpc import RangeTooLarge, RetryableError, RpcError, classify_error, parse_log
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
