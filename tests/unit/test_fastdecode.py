"""Compiled decoders equal eth-abi: every event and function of every ABI in abis/, on random values
and on corrupted encodings (a compiled decoder either declines, or agrees with eth-abi)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from eth_abi.abi import encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.abi import EventSpec, FunctionSpec, Param, load_abi
from indexer.chain import Log
from indexer.config import ABI_DIR
from indexer.decode import DecodeError, decode_call_generic, decode_log_generic
from indexer.fastdecode import compile_event, compile_function

ALL_ABIS = sorted(p.name for p in ABI_DIR.glob("*.json"))
EVENTS = [ev for f in ALL_ABIS for ev in load_abi(f)[0] if not ev.anonymous]
FUNCTIONS = [fn for f in ALL_ABIS for fn in load_abi(f)[1]]
_ARRAY = re.compile(r"^(.*)\[(\d*)\]$")
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def values(typ: str, comps: tuple[Param, ...]) -> st.SearchStrategy[Any]:
    """Values eth-abi can encode for an ABI type (edges of every integer range included)."""
    m = _ARRAY.match(typ)
    if m is not None:
        inner = values(m.group(1), comps)
        if m.group(2):
            k = int(m.group(2))
            return st.lists(inner, min_size=k, max_size=k)
        return st.lists(inner, max_size=3)
    if typ.startswith("("):
        return st.tuples(*(values(c.type, c.components) for c in comps))
    if typ == "address":
        return st.binary(min_size=20, max_size=20)
    if typ == "bool":
        return st.booleans()
    if typ == "string":
        return st.text(max_size=40)
    if typ == "bytes":
        return st.binary(max_size=80)
    if typ.startswith("bytes"):
        n = int(typ[5:])
        return st.binary(min_size=n, max_size=n)
    bits = int(typ.lstrip("uint") or 256)
    lo, hi = (0, 2**bits - 1) if typ.startswith("uint") else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return st.one_of(st.sampled_from([lo, hi, 0]), st.integers(lo, hi))


def hashed(typ: str) -> bool:
    return typ in ("string", "bytes") or typ.endswith("]") or typ.startswith("(")


@st.composite
def logs(draw: st.DrawFn, ev: EventSpec) -> Log:
    topics = [ev.topic0]
    for p in ev.indexed:
        if hashed(p.type):
            topics.append("0x" + draw(st.binary(min_size=32, max_size=32)).hex())
        else:
            topics.append("0x" + encode([p.type], [draw(values(p.type, p.components))]).hex())
    body = ev.unindexed
    data = encode([p.type for p in body], [draw(values(p.type, p.components)) for p in body]) if body else b""
    return Log(1, "0x" + "11" * 32, "0x" + "22" * 32, 0, 0, "0x" + "33" * 20, tuple(topics), data)


@st.composite
def corrupted(draw: st.DrawFn, data: bytes) -> bytes:
    """The encoding with a byte changed, cut short or extended, or a word replaced."""
    kind = draw(st.sampled_from(["flip", "cut", "extend", "word"]))
    if kind == "extend" or not data:
        return data + draw(st.binary(min_size=1, max_size=40))
    if kind == "cut":
        return data[: draw(st.integers(0, len(data) - 1))]
    i = draw(st.integers(0, len(data) - 1))
    if kind == "flip":
        return data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1 :]
    w = (i // 32) * 32
    word = draw(st.sampled_from([bytes(32), b"\xff" * 32, (1).to_bytes(32, "big"), (2**64).to_bytes(32, "big")]))
    return data[:w] + word + data[w + 32 :]


def generic_log(log: Log, ev: EventSpec) -> dict[str, Any] | DecodeError:
    try:
        return decode_log_generic(log, ev)
    except DecodeError as e:
        return e


def generic_call(data: bytes, fn: FunctionSpec) -> dict[str, Any] | DecodeError:
    try:
        return decode_call_generic(data, fn)
    except DecodeError as e:
        return e


@pytest.mark.parametrize("ev", EVENTS, ids=lambda ev: f"{ev.source}:{ev.signature}")
@SETTINGS
@given(data=st.data())
def test_compiled_event_decoder_equals_eth_abi(ev: EventSpec, data: st.DataObject) -> None:
    fast = compile_event(ev)
    log = data.draw(logs(ev))
    assert fast(log.topics[1:], log.data) == decode_log_generic(log, ev)
    bad = Log(*[getattr(log, f) for f in ("block_number", "block_hash", "tx_hash", "tx_index", "log_index",
                                           "address", "topics")], data.draw(corrupted(log.data)))
    got = fast(bad.topics[1:], bad.data)
    if got is not None:
        assert got == generic_log(bad, ev)


@pytest.mark.parametrize("ev", [e for e in EVENTS if any(not hashed(p.type) for p in e.indexed)],
                         ids=lambda ev: f"{ev.source}:{ev.signature}")
@SETTINGS
@given(data=st.data())
def test_compiled_event_decoder_declines_bad_topics(ev: EventSpec, data: st.DataObject) -> None:
    fast = compile_event(ev)
    log = data.draw(logs(ev))
    i = data.draw(st.sampled_from([k for k, p in enumerate(ev.indexed, start=1) if not hashed(p.type)]))
    word = data.draw(st.sampled_from(["ff" * 32, "00" * 31 + "02", "zz" * 32, "00" * 33]))
    topics = (*log.topics[:i], "0x" + word, *log.topics[i + 1 :])
    bad = Log(log.block_number, log.block_hash, log.tx_hash, log.tx_index, log.log_index, log.address, topics,
              log.data)
    got = fast(bad.topics[1:], bad.data)
    if got is not None:
        assert got == generic_log(bad, ev)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda fn: f"{fn.source}:{fn.signature}")
@SETTINGS
@given(data=st.data())
def test_compiled_call_decoder_equals_eth_abi(fn: FunctionSpec, data: st.DataObject) -> None:
    fast = compile_function(fn)
    args = [data.draw(values(p.type, p.components)) for p in fn.params]
    call = bytes.fromhex(fn.selector[2:]) + encode([p.type for p in fn.params], args)
    trailer = data.draw(st.binary(max_size=64))  # bytes after the ABI body are ignored
    assert fast(call[4:] + trailer) == decode_call_generic(call + trailer, fn)
    bad = call[:4] + data.draw(corrupted(call[4:]))
    got = fast(bad[4:])
    if got is not None:
        assert got == generic_call(bad, fn)


def test_every_abi_has_events_and_functions_covered() -> None:
    assert len(EVENTS) > 40 and len(FUNCTIONS) > 40
    assert {ev.source for ev in EVENTS} | {fn.source for fn in FUNCTIONS} == set(ALL_ABIS)
