"""The fast answer decoding (indexer.wire) accepts only what the general path (rpc.parse_log,
parse_tx and the JSON-RPC checks) accepts, with the same result, and says NotPlain for the rest."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer import wire
from indexer.chain import Log, Tx
from indexer.rpc import RpcClient, RpcError, parse_tx

MISSING = object()

LOG = {
    "address": "0x" + "Cc" * 20,
    "topics": ["0x" + "dD" * 32, "0x" + "00" * 31 + "01"],
    "data": "0x00ff",
    "blockNumber": "0x1a",
    "blockHash": "0x" + "aA" * 32,
    "transactionHash": "0x" + "bb" * 32,
    "transactionIndex": "0x2",
    "logIndex": "0x3",
    "removed": False,
}
TX = {
    "hash": "0x" + "bb" * 32,
    "blockHash": "0x" + "aa" * 32,
    "blockNumber": "0x1a",
    "transactionIndex": "0x2",
    "from": "0x" + "Ee" * 20,
    "to": "0x" + "ff" * 20,
    "input": "0xff11e7b4",
    "gas": "0x5208",
    "v": "0x1",
}

# Values a field may take in a hostile or odd answer: well-formed, mixed case, no prefix, wrong
# length, wrong type, null, absent.
ODD_VALUES: list[Any] = [
    "0x" + "ab" * 32,
    "0X" + "ab" * 32,
    "ab" * 33,
    "0x" + "ab" * 31,
    "0x" + "AB" * 20,
    "0x" + "ab" * 20,
    "0X" + "ab" * 20,
    "ab" * 21,
    "0x",
    "0x0",
    "0xzz",
    "0x1_0",
    "",
    None,
    7,
    True,
    [],
    ["0x" + "ab" * 32] * 5,
    MISSING,
]


def _with(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in changes.items():
        if v is MISSING:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def _general_logs(body: bytes) -> list[Log] | None:
    try:
        return RpcClient._parse_logs(RpcClient._result("eth_getLogs", orjson.loads(body)))
    except RpcError:
        return None


def _fast_logs(body: bytes) -> list[Log] | None:
    try:
        return wire.logs(body)
    except wire.NotPlain:
        return None


def test_a_well_formed_answer_decodes_as_the_general_path_does() -> None:
    body = orjson.dumps({"jsonrpc": "2.0", "id": 1, "result": [LOG, _with(LOG, {"removed": MISSING, "topics": []})]})
    fast = wire.logs(body)
    assert fast == _general_logs(body)
    assert fast[0] == Log(26, "0x" + "aa" * 32, "0x" + "bb" * 32, 2, 3, "0x" + "cc" * 20,
                          ("0x" + "dd" * 32, "0x" + "00" * 31 + "01"), b"\x00\xff")


@pytest.mark.parametrize(
    "answer",
    [
        {"jsonrpc": "2.0", "id": 1, "error": {"code": -32005, "message": "query returned more than 10000 results"}},
        {"jsonrpc": "2.0", "id": 1, "result": None},
        {"jsonrpc": "2.0", "id": 1},
        [{"jsonrpc": "2.0", "id": 1, "result": []}],
        {"jsonrpc": "2.0", "id": 1, "result": [_with(LOG, {"removed": True})]},
    ],
)
def test_errors_and_odd_envelopes_go_the_general_way(answer: Any) -> None:
    with pytest.raises(wire.NotPlain):
        wire.logs(orjson.dumps(answer))


def test_not_json_goes_the_general_way() -> None:
    with pytest.raises(wire.NotPlain):
        wire.logs(b"<html>502 Bad Gateway</html>")


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(LOG)), st.sampled_from(ODD_VALUES), max_size=3))
def test_an_odd_log_is_taken_only_as_the_general_path_takes_it(changes: dict[str, Any]) -> None:
    body = orjson.dumps({"jsonrpc": "2.0", "id": 1, "result": [LOG, _with(LOG, changes)]})
    fast = _fast_logs(body)
    if fast is not None:
        assert fast == _general_logs(body)


def _general_txs(body: bytes, base: int, hashes: list[str]) -> list[Tx] | None:
    try:
        raws = RpcClient._batch_results("eth_getTransactionByHash", base, len(hashes), orjson.loads(body))
        return [parse_tx(r, h) for r, h in zip(raws, hashes, strict=True)]
    except RpcError:
        return None


def _fast_txs(body: bytes, base: int, hashes: list[str]) -> list[Tx] | None:
    try:
        return wire.transactions(body, base, hashes)
    except wire.NotPlain:
        return None


def _batch(txs: list[dict[str, Any]], base: int = 40) -> bytes:
    return orjson.dumps([{"jsonrpc": "2.0", "id": base + k, "result": t} for k, t in enumerate(txs)])


def test_a_batch_of_transactions_decodes_in_the_order_asked_whatever_the_answer_order() -> None:
    second = _with(TX, {"hash": "0x" + "cc" * 32, "to": None, "transactionIndex": "0x3"})
    hashes = ["0x" + "bb" * 32, "0x" + "cc" * 32]
    items = orjson.loads(_batch([TX, second]))
    body = orjson.dumps(items[::-1])
    fast = wire.transactions(body, 40, hashes)
    assert fast == _general_txs(body, 40, hashes)
    assert fast[0] == Tx("0x" + "bb" * 32, 26, "0x" + "aa" * 32, 2, "0x" + "ee" * 20, "0x" + "ff" * 20,
                         bytes.fromhex("ff11e7b4"))
    assert fast[1].to is None


@pytest.mark.parametrize(
    "body",
    [
        _batch([TX, None]),  # not found
        _batch([TX]),  # one answer short
        _batch([TX, TX]),  # the same transaction twice: the second is not the one asked for
        _batch([TX, _with(TX, {"hash": "0x" + "cc" * 32, "input": MISSING, "data": "0x"})]),  # "data", not "input"
        orjson.dumps([{"jsonrpc": "2.0", "id": 40, "result": TX},
                      {"jsonrpc": "2.0", "id": 41, "error": {"code": 429, "message": "rate limited"}}]),
        orjson.dumps({"jsonrpc": "2.0", "id": 40, "error": {"code": -32600, "message": "batch too large"}}),
    ],
)
def test_odd_batches_go_the_general_way(body: bytes) -> None:
    with pytest.raises(wire.NotPlain):
        wire.transactions(body, 40, ["0x" + "bb" * 32, "0x" + "cc" * 32])


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(TX)), st.sampled_from(ODD_VALUES), max_size=3))
def test_an_odd_transaction_is_taken_only_as_the_general_path_takes_it(changes: dict[str, Any]) -> None:
    odd = _with(TX, changes)
    hashes = ["0x" + "bb" * 32, str(odd.get("hash", "")).lower()]
    body = _batch([TX, odd])
    fast = _fast_txs(body, 40, hashes)
    if fast is not None:
        assert fast == _general_txs(body, 40, hashes)
