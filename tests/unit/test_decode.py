"""Decoding against vectors encoded from the ABI files themselves, nested tuple[] events included."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi.abi import encode

from indexer.abi import EventSpec, Param, event_map, load_abi
from indexer.chain import Log
from indexer.config import ABI_DIR, BASE, OPENGRADIENT
from indexer.decode import DecodeError, UnknownTopic, decode_call, decode_log

ALL_ABIS = sorted(p.name for p in ABI_DIR.glob("*.json"))


def sample(p_type: str, comps: tuple[Param, ...], seed: int) -> tuple[Any, Any]:
    """(value to encode, value the decoder must return) for an ABI type."""
    if p_type.endswith("]"):
        inner = p_type[: p_type.rindex("[")]
        pairs = [sample(inner, comps, seed + k) for k in range(2)]
        return [a for a, _ in pairs], [b for _, b in pairs]
    if p_type.startswith("("):
        pairs = [sample(c.type, c.components, seed * 7 + i) for i, c in enumerate(comps)]
        return tuple(a for a, _ in pairs), {c.name: b for c, (_, b) in zip(comps, pairs, strict=True)}
    if p_type == "address":
        a = "0x" + f"{seed:040x}"[-40:].replace("0", "A", 3)
        return a, a.lower()
    if p_type == "bool":
        return seed % 2 == 0, seed % 2 == 0
    if p_type.startswith(("uint", "int")):
        bits = int(p_type.lstrip("uint") or 256)
        v = (seed * 1_000_003) % (2 ** (bits - 1))
        return v, v
    if p_type == "string":
        return f"s{seed}-ünï", f"s{seed}-ünï"
    if p_type == "bytes":
        return bytes([seed % 256]) * 37, bytes([seed % 256]) * 37
    if p_type.startswith("bytes"):
        n = int(p_type[5:])
        b = bytes([seed % 256]) * n
        return b, "0x" + b.hex()
    raise AssertionError(f"no sample for {p_type}")


def encode_log(ev: EventSpec, seed: int = 3) -> tuple[Log, dict[str, Any]]:
    topics = [ev.topic0]
    data_types, data_values = [], []
    expected: dict[str, Any] = {}
    for i, p in enumerate(ev.params):
        value, want = sample(p.type, p.components, seed + i)
        if p.indexed:
            topics.append("0x" + encode([p.type], [value]).hex())
        else:
            data_types.append(p.type)
            data_values.append(value)
        expected[p.name] = want
    data = encode(data_types, data_values) if data_types else b""
    log = Log(1, "0x" + "11" * 32, "0x" + "22" * 32, 0, 0, "0x" + "33" * 20, tuple(topics), data)
    return log, expected


@pytest.mark.parametrize("abi_file", ALL_ABIS)
def test_every_event_of_every_abi_round_trips(abi_file: str) -> None:
    events, _ = load_abi(abi_file)
    emap = event_map((abi_file,))
    for ev in events:
        if emap.get(ev.topic0) is not ev:
            continue  # a duplicate signature inside one file
        log, expected = encode_log(ev)
        d = decode_log(log, emap)
        assert d.event.signature == ev.signature
        for name, want in expected.items():
            p = next(p for p in ev.params if p.name == name)
            if p.indexed and p.type in ("string", "bytes"):
                continue  # only the hash is on-chain
            assert d.args[name] == want, f"{ev.signature} {name}"


def test_reference_topic0_values() -> None:
    """The examples in shared/reference/opengradient.md, computed from the ABI files."""
    by_name = {}
    for chain in (OPENGRADIENT, BASE):
        for c in chain.contracts:
            for t0, ev in event_map(c.abi_files).items():
                by_name[(c.role, ev.name)] = t0
    assert by_name[("token", "Transfer")].startswith("0xddf252ad")
    assert by_name[("token", "Transfer")].endswith("b3ef")
    assert by_name[("settlement_relay", "BatchSettlement")].startswith("0xc2aff8d8")
    assert by_name[("settlement_relay", "IndividualSettlement")].startswith("0x74e71a19")
    assert by_name[("tee_registry", "HeartbeatReceived")].startswith("0x3cf0bf77")
    assert by_name[("x402_upto", "Settled")].startswith("0x97088ec3")
    # the 2-argument legacy BatchSettlement is a different event with a different topic0
    assert by_name[("legacy_relay", "BatchSettlement")] != by_name[("settlement_relay", "BatchSettlement")]


def test_nested_tuple_array_event_keeps_model_and_mode() -> None:
    (ev,) = [e for e in load_abi("InferencePrecompile_0xF4.json")[0] if e.name == "LLMChat"]
    log, expected = encode_log(ev, seed=5)
    d = decode_log(log, event_map(("InferencePrecompile_0xF4.json",)))
    assert d.args["request"]["modelCID"] == expected["request"]["modelCID"]
    assert d.args["request"]["mode"] == expected["request"]["mode"]
    msgs = d.args["request"]["messages"]
    assert len(msgs) == 2 and len(msgs[0]["tool_calls"]) == 2
    assert d.args["request"]["stop_sequence"] == expected["request"]["stop_sequence"]


def test_unknown_topic_and_malformed_data_raise_typed_errors() -> None:
    emap = event_map(("OPG_ERC20_Base.json",))
    (ev,) = [e for e in emap.values() if e.name == "Transfer"]
    log, _ = encode_log(ev)
    with pytest.raises(UnknownTopic):
        decode_log(Log(1, log.block_hash, log.tx_hash, 0, 0, log.address, ("0x" + "ab" * 32,), b""), emap)
    with pytest.raises(DecodeError):
        decode_log(Log(1, log.block_hash, log.tx_hash, 0, 0, log.address, log.topics, b"\x01\x02"), emap)
    with pytest.raises(DecodeError):  # a topic missing
        decode_log(Log(1, log.block_hash, log.tx_hash, 0, 0, log.address, log.topics[:2], log.data), emap)


def test_settle_calldata_decodes_owner_amount_facilitator_and_cap() -> None:
    from indexer.abi import function_map

    fmap = function_map(("x402UptoPermit2Proxy.json",))
    fn = fmap["0xff11e7b4"]
    assert fn.name == "settle"
    token, owner, pay_to, fac = ("0x" + c * 40 for c in "abcd")
    args = [((token, 10**17), 7, 99), 5 * 10**16, owner, (pay_to, fac, 0), b"\x01" * 65]
    data = bytes.fromhex(fn.selector[2:]) + encode([p.type for p in fn.params], args) + b"trailer"
    call = decode_call(data, fmap)
    assert call.args["owner"] == owner
    assert call.args["amount"] == 5 * 10**16
    assert call.args["permit"]["permitted"]["amount"] == 10**17
    assert call.args["witness"]["facilitator"] == fac


def test_a_nul_in_a_decoded_string_becomes_a_replacement_character_on_both_paths() -> None:
    from indexer.config import REGISTRY_ABIS
    from indexer.decode import decode_log_generic
    from indexer.rows import _blob_id

    ev = next(e for e in event_map(tuple(REGISTRY_ABIS)).values() if e.name == "PCRApproved")
    topics = (ev.topic0, "0x" + "ab" * 32, "0x" + "00" * 31 + "01")
    log = Log(1, "0x" + "11" * 32, "0x" + "22" * 32, 0, 0, "0x" + "33" * 20, topics, encode(["string"], ["v\x001"]))
    assert decode_log(log, {ev.topic0: ev}).args["version"] == "v\ufffd1"  # compiled decoder
    assert decode_log_generic(log, ev)["version"] == "v\ufffd1"  # eth-abi, for non-canonical encodings
    assert _blob_id(b"blob\x00id") == "0x" + b"blob\x00id".hex()  # kept exact, as hex
    assert _blob_id(b"blob-id") == "blob-id"
