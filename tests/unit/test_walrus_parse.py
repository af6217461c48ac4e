"""Walrus payload parsing: the three leaf formats, Merkle checks, individual checks, hostile input."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from indexer.walrus import merkle
from indexer.walrus.parse import MAX_MODEL, parse_batch, parse_individual
from indexer.walrus.rows import SettlementRef

RNG = random.Random(13)
TEE = "0x" + "ab" * 32
INP, OUT = "0x" + "11" * 32, "0x" + "22" * 32
UPTO = "0x6c5a3ff0ad0a3be8a4cbd1f5ab0e0c4d9a6a7e4f"
TS = 1_778_000_000


def _ref(kind: str, **kw: Any) -> SettlementRef:
    base: dict[str, Any] = dict(
        chain_id=10740, block_number=5, block_hash="0xbb", block_time=datetime(2026, 5, 4, tzinfo=UTC),
        tx_hash="0xtt", log_index=0, kind=kind, blob_id="b" * 43, batch_size=None, merkle_root=None,
        tee_id=None, eth_address=None, input_hash=None, output_hash=None, tee_timestamp=None,
    )
    base.update(kw)
    return SettlementRef(**base)


def _individual_ref() -> SettlementRef:
    return _ref("individual", tee_id=TEE, eth_address=UPTO, input_hash=INP, output_hash=OUT, tee_timestamp=TS)


def _payload(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "input": {"model": "openai/gpt-4.1-2025-04-14", "messages": [{"role": "user", "content": "hi"}]},
        "output": {"id": "x", "model": "gpt-4.1-2025-04-14", "choices": [],
                   "usage": {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42},
                   "tee_request_hash": INP, "tee_output_hash": OUT, "tee_id": TEE, "tee_timestamp": TS},
        "teeSignature": "c2ln", "teeId": TEE.upper().replace("0X", "0x"), "timestamp": str(TS),
        "ethAddress": "0x6C5a3FF0ad0A3bE8a4CBd1f5Ab0e0c4D9a6A7E4F",
    }
    doc.update(changes)
    return doc


def test_individual_payload_names_model_and_tokens_and_matches_its_event() -> None:
    row = parse_individual(_individual_ref(), orjson.dumps(_payload()))
    assert (row.status, row.error, row.model_raw) == ("parsed", None, "openai/gpt-4.1-2025-04-14")
    assert (row.prompt_tokens, row.completion_tokens, row.total_tokens) == (12, 30, 42)
    assert (row.tee_id_matches, row.timestamp_matches, row.eth_address_matches, row.output_tee_matches) == (
        True, True, True, True)
    assert row.consistent and row.streamed is False


def test_individual_payload_of_another_tee_is_parsed_but_not_consistent() -> None:
    row = parse_individual(_individual_ref(), orjson.dumps(_payload(teeId="0x" + "cd" * 32)))
    assert row.status == "parsed" and row.tee_id_matches is False and not row.consistent


def test_streamed_payload_without_usage_and_non_json_input_take_the_output_model() -> None:
    out = {"object": "chat.completion.chunk", "model": "claude-haiku-4-5", "tee_id": TEE}
    row = parse_individual(_individual_ref(), orjson.dumps(_payload(input="model=x&prompt=hi", output=out)))
    assert (row.status, row.model_raw, row.streamed) == ("parsed", "claude-haiku-4-5", True)
    assert (row.prompt_tokens, row.completion_tokens, row.total_tokens) == (None, None, None)
    assert row.output_tee_matches is True and row.consistent


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"\x89PNG\r\n\x1a\n", "unparseable", "not JSON"),
        (b'{"input": {"model": "gpt', "unparseable", "not JSON"),
        (b"[1, 2, 3]", "unparseable", "payload is a list"),
        (b"[" * 5000 + b"]" * 5000, "unparseable", "not JSON"),  # deep nesting
        (orjson.dumps(_payload(input={"model": 42})), "invalid", "input.model is a int"),
        (orjson.dumps(_payload(input={"model": "m" * 10_240})), "invalid", "10240 characters"),
        (orjson.dumps(_payload(input={"model": "gpt\x00-4"})), "invalid", "control characters"),
        (orjson.dumps(_payload(output={"usage": {"prompt_tokens": "12"}})), "invalid", "usage.prompt_tokens"),
        (orjson.dumps(_payload(output={"usage": {"prompt_tokens": True}})), "invalid", "usage.prompt_tokens"),
        (orjson.dumps(_payload(output=[1])), "invalid", "output is a list"),
    ],
)
def test_hostile_individual_payloads_are_kept_with_their_error(body: bytes, status: str, error: str) -> None:
    row = parse_individual(_individual_ref(), body)
    assert row.status == status and row.error is not None and error in row.error
    assert row.model_raw is None and not row.consistent
    assert len(row.error) <= 300 and "\x00" not in row.error


def test_huge_strings_and_nul_characters_never_reach_a_text_column_whole() -> None:
    body = orjson.dumps(_payload(input={"model": "gpt\x00" + "x" * 10_000, "messages": "y" * 5_000_000}))
    row = parse_individual(_individual_ref(), body)
    assert row.status == "invalid"
    assert row.input_model_raw is not None and len(row.input_model_raw) == 256
    assert "\x00" not in row.input_model_raw and "\ufffd" in row.input_model_raw
    ok = parse_individual(_individual_ref(), orjson.dumps(_payload(input={"model": "m" * MAX_MODEL})))
    assert ok.status == "parsed"


def test_a_cut_body_is_unparseable() -> None:
    row = parse_individual(_individual_ref(), orjson.dumps(_payload()), truncated=True)
    assert (row.status, row.error) == ("unparseable", "body cut at the size cap")


def _leaf(fmt: merkle.LeafFormat) -> tuple[list[Any], list[Any]]:
    words = {"tee_id": RNG.randbytes(32), "input_hash": RNG.randbytes(32), "output_hash": RNG.randbytes(32),
             "signature": RNG.randbytes(65 if fmt.name == "tee_io_sig_ts" else 32), "timestamp": TS}
    value = [words[f] for f in fmt.fields]
    return value, [v if isinstance(v, int) else "0x" + v.hex() for v in value]


def _batch(fmt: merkle.LeafFormat, n: int) -> tuple[dict[str, Any], list[list[Any]]]:
    leaves = [_leaf(fmt) for _ in range(n)]
    return merkle.dump(fmt.types, [v for v, _ in leaves], [j for _, j in leaves]), [v for v, _ in leaves]


@pytest.mark.parametrize("fmt", merkle.LEAF_FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize("n", [1, 2, 7, 20])
def test_batch_root_recomputed_from_the_values_equals_the_dumped_root(fmt: merkle.LeafFormat, n: int) -> None:
    doc, values = _batch(fmt, n)
    ref = _ref("batch", batch_size=n, merkle_root=doc["tree"][0])
    row, leaves = parse_batch(ref, orjson.dumps(doc))
    assert (row.status, row.leaf_format, row.leaves, row.computed_root) == ("consistent", fmt.name, n, doc["tree"][0])
    assert [leaf.input_hash for leaf in leaves] == ["0x" + v[fmt.fields.index("input_hash")].hex() for v in values]
    assert all((leaf.tee_id is not None) == (fmt.name == "tee_io_sig_ts") for leaf in leaves)
    if fmt.name == "tee_io_sig_ts":
        assert leaves[0].tee_id == "0x" + values[0][0].hex() and leaves[0].leaf_timestamp == Decimal(TS)


def test_known_two_leaf_tree_hashes_by_hand() -> None:
    """The double-hashed leaves and the sorted-pair root, computed step by step."""
    from eth_abi.abi import encode
    from eth_hash.auto import keccak

    types = ["bytes32", "bytes32"]
    a, b = [b"\x01" * 32, b"\x02" * 32], [b"\x03" * 32, b"\x04" * 32]
    ha, hb = (keccak(keccak(encode(types, v))) for v in (a, b))
    root = keccak(min(ha, hb) + max(ha, hb))
    doc = merkle.dump(types, [a, b], [["0x" + x.hex() for x in a], ["0x" + x.hex() for x in b]])
    assert doc["tree"] == ["0x" + h.hex() for h in (root, max(ha, hb), min(ha, hb))]


def test_batch_checks_name_root_and_count_mismatches() -> None:
    fmt = merkle.format_named("tee_io_sig_ts")
    doc, _ = _batch(fmt, 5)
    row, leaves = parse_batch(_ref("batch", batch_size=6, merkle_root=doc["tree"][0]), orjson.dumps(doc))
    assert row.status == "count_mismatch" and len(leaves) == 5
    row, _ = parse_batch(_ref("batch", batch_size=5, merkle_root="0x" + "00" * 32), orjson.dumps(doc))
    assert row.status == "root_mismatch" and row.computed_root == doc["tree"][0]
    doc["values"][0]["value"][1] = "0x" + "ff" * 32  # a leaf changed after the root was made
    row, _ = parse_batch(_ref("batch", batch_size=5, merkle_root=doc["tree"][0]), orjson.dumps(doc))
    assert row.status == "root_mismatch"


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"leafEncoding": ["bytes32", "uint256", "address"]}, "unknown_leaf_format", "unknown leafEncoding"),
        ({"format": "simple-v1"}, "unparseable", "format"),
        ({"values": "nope"}, "unparseable", "values"),
        ({"values": [{"value": ["0x12", "0x34"], "treeIndex": 0}]}, "unparseable", "bytes"),
        ({"values": [{"value": ["0x" + "11" * 32, "0x" + "22" * 32], "treeIndex": 5}]}, "unparseable",
         "treeIndex"),
        ({"values": [{"value": ["0x" + "11" * 32], "treeIndex": 0}]}, "unparseable", "fields"),
    ],
)
def test_malformed_batch_payloads_get_a_status_not_a_guess(change: dict[str, Any], status: str, error: str) -> None:
    doc, _ = _batch(merkle.format_named("io"), 1)
    doc.update(change)
    row, leaves = parse_batch(_ref("batch", batch_size=1, merkle_root=doc["tree"][0]), orjson.dumps(doc))
    assert row.status == status and row.error is not None and error in row.error and leaves == []
