"""Parse and check Walrus payloads against their settlements (pure; payloads are untrusted input)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from . import merkle
from .rows import BatchLeafRow, BatchPayloadRow, IndividualPayloadRow, SettlementRef

MAX_TEXT = 256  # raw names and messages are kept cut to this many characters
MAX_MODEL = 200  # a longer model name is not a model name
_UINT256 = 2**256
_BIGINT = 2**63


class PayloadError(ValueError):
    """The payload is not what its format says; the message names the field."""


def clean(text: str, limit: int = MAX_TEXT) -> str:
    """Text fit for a Postgres text column and a log line: NUL (which text cannot hold) becomes
    U+FFFD, and the value is cut to `limit` characters."""
    return text[:limit].replace("\x00", "\ufffd")


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _load(body: bytes, truncated: bool) -> Any:
    if truncated:
        raise PayloadError("body cut at the size cap")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise PayloadError(f"not JSON: {clean(str(e), 120)}") from None


def _hex(value: str | None) -> str | None:
    if value is None:
        return None
    v = value.strip().lower()
    return v if v.startswith("0x") else "0x" + v


def _same_hex(payload: Any, chain: str | None) -> bool | None:
    if payload is None or chain is None:
        return None
    return isinstance(payload, str) and _hex(payload) == _hex(chain)


def _uint(value: Any, where: str) -> int:
    """A uint256 as JSON gives it: a number, or a decimal or 0x-hex string."""
    if isinstance(value, bool):
        raise PayloadError(f"{where} is a bool, not an integer")
    if isinstance(value, int):
        n = value
    elif isinstance(value, str) and 0 < len(value) <= 80:
        try:
            n = int(value, 16) if value[:2].lower() == "0x" else int(value, 10)
        except ValueError:
            raise PayloadError(f"{where} is not an integer: {clean(value, 80)!r}") from None
    else:
        raise PayloadError(f"{where} is a {_type(value)}, not an integer")
    if not 0 <= n < _UINT256:
        raise PayloadError(f"{where} is out of the uint256 range")
    return n


def _same_uint(payload: Any, chain: int | None) -> bool | None:
    if payload is None or chain is None:
        return None
    try:
        return _uint(payload, "timestamp") == chain
    except PayloadError:
        return False


def _tokens(usage: Any, key: str) -> int | None:
    if not isinstance(usage, dict) or usage.get(key) is None:
        return None
    v = usage[key]
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < _BIGINT:
        raise PayloadError(f"output.usage.{key} is not a token count: {clean(repr(v), 80)}")
    return v


def _model(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{where} is a {_type(value)}, not a string")
    if len(value) > MAX_MODEL:
        raise PayloadError(f"{where} is {len(value)} characters long (more than {MAX_MODEL})")
    if any(c < " " for c in value):
        raise PayloadError(f"{where} holds control characters")
    return value


def parse_individual(ref: SettlementRef, body: bytes, truncated: bool = False) -> IndividualPayloadRow:
    """One row for an individual settlement's payload: model and tokens, and whether the payload's
    TEE, timestamp, ethAddress and output tee fields equal the event's. Never raises on bad input:
    the row says `unparseable` (not a JSON object) or `invalid` (a field of the wrong type or
    size) with the error."""
    row = IndividualPayloadRow(
        ref.chain_id, ref.block_number, ref.block_hash, ref.block_time, ref.tx_hash, ref.log_index,
        ref.blob_id, "parsed", None, None, None, None, None, None, None, None,
        None, None, None, None, False,
    )
    try:
        doc = _load(body, truncated)
        if not isinstance(doc, dict):
            raise PayloadError(f"payload is a {_type(doc)}, not an object")
    except PayloadError as e:
        row.status, row.error = "unparseable", str(e)
        return row
    inp, out = doc.get("input"), doc.get("output")
    if isinstance(inp, dict) and isinstance(inp.get("model"), str):
        row.input_model_raw = clean(inp["model"])
    if isinstance(out, dict) and isinstance(out.get("model"), str):
        row.output_model_raw = clean(out["model"])
    try:
        if not isinstance(inp, dict | str | None):
            raise PayloadError(f"input is a {_type(inp)}, not an object or a string")
        if not isinstance(out, dict | None):
            raise PayloadError(f"output is a {_type(out)}, not an object")
        inp_d: dict[str, Any] = inp if isinstance(inp, dict) else {}
        out_d: dict[str, Any] = out if isinstance(out, dict) else {}
        model = _model(inp_d.get("model"), "input.model") or _model(out_d.get("model"), "output.model")
        usage = out_d.get("usage")
        if usage is not None and not isinstance(usage, dict):
            raise PayloadError(f"output.usage is a {_type(usage)}, not an object")
        tokens = (_tokens(usage, "prompt_tokens"), _tokens(usage, "completion_tokens"),
                  _tokens(usage, "total_tokens"))
    except PayloadError as e:
        row.status, row.error = "invalid", str(e)
        return row
    row.model_raw = model
    row.prompt_tokens, row.completion_tokens, row.total_tokens = tokens
    row.streamed = inp_d.get("stream") is True or str(out_d.get("object", "")).endswith(".chunk")
    row.tee_id_matches = _same_hex(doc.get("teeId"), ref.tee_id)
    row.timestamp_matches = _same_uint(doc.get("timestamp"), ref.tee_timestamp)
    row.eth_address_matches = _same_hex(doc.get("ethAddress"), ref.eth_address)
    checks = [
        _same_hex(out_d.get("tee_request_hash"), ref.input_hash),
        _same_hex(out_d.get("tee_output_hash"), ref.output_hash),
        _same_hex(out_d.get("tee_id"), ref.tee_id),
        _same_uint(out_d.get("tee_timestamp"), ref.tee_timestamp),
    ]
    present = [c for c in checks if c is not None]
    row.output_tee_matches = all(present) if present else None
    row.consistent = bool(row.tee_id_matches and row.timestamp_matches and row.eth_address_matches
                          and row.output_tee_matches is not False)
    return row


def _bytes(value: Any, where: str, size: int | None) -> bytes:
    if not isinstance(value, str):
        raise PayloadError(f"{where} is a {_type(value)}, not a hex string")
    if len(value) > 2 + 2 * 65536:
        raise PayloadError(f"{where} is longer than 64 KiB")
    text = value[2:] if value[:2].lower() == "0x" else value
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise PayloadError(f"{where} is not hex") from None
    if size is not None and len(raw) != size:
        raise PayloadError(f"{where} has {len(raw)} bytes, not {size}")
    return raw


_CONVERT: dict[str, Callable[[Any, str], Any]] = {
    "bytes32": lambda v, w: _bytes(v, w, 32),
    "bytes": lambda v, w: _bytes(v, w, None),
    "uint256": _uint,
}


def parse_batch(
    ref: SettlementRef, body: bytes, truncated: bool = False
) -> tuple[BatchPayloadRow, list[BatchLeafRow]]:
    """The batch row and its leaves. The root is recomputed from the values (the dumped tree is not
    trusted) and compared with the event's merkleRoot, the leaf count with batchSize. An unknown
    leafEncoding is reported as such, never read as a known one."""
    row = BatchPayloadRow(
        ref.chain_id, ref.block_number, ref.block_hash, ref.block_time, ref.tx_hash, ref.log_index,
        ref.blob_id, "unparseable", None, None, None, None, None,
    )
    leaves: list[BatchLeafRow] = []
    try:
        doc = _load(body, truncated)
        if not isinstance(doc, dict):
            raise PayloadError(f"payload is a {_type(doc)}, not an object")
        if doc.get("format") != merkle.FORMAT:
            raise PayloadError(f"format is {clean(repr(doc.get('format')), 80)}, not {merkle.FORMAT}")
        types = doc.get("leafEncoding")
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise PayloadError("leafEncoding is not a list of type names")
        row.leaf_encoding = clean(orjson.dumps(types).decode())
        fmt = merkle.leaf_format(types)
        if fmt is None:
            row.status, row.error = "unknown_leaf_format", f"unknown leafEncoding {row.leaf_encoding}"
            return row, []
        row.leaf_format = fmt.name
        values = doc.get("values")
        if not isinstance(values, list) or not values:
            raise PayloadError("values is not a non-empty list")
        hashes: dict[int, bytes] = {}
        n = len(values)
        for i, item in enumerate(values):
            if not isinstance(item, dict) or not isinstance(item.get("value"), list):
                raise PayloadError(f"values[{i}] is not an object with a value list")
            value, index = item["value"], item.get("treeIndex")
            if len(value) != len(fmt.types):
                raise PayloadError(f"values[{i}] has {len(value)} fields, not {len(fmt.types)}")
            if isinstance(index, bool) or not isinstance(index, int) or not n - 1 <= index <= 2 * n - 2 \
                    or index in hashes:
                raise PayloadError(f"values[{i}].treeIndex {clean(repr(index), 40)} is not a free leaf slot")
            typed = [_CONVERT[t](v, f"values[{i}][{k}]") for k, (t, v) in enumerate(zip(fmt.types, value, strict=True))]
            hashes[index] = merkle.leaf_hash(fmt.types, typed)
            f = dict(zip(fmt.fields, typed, strict=True))
            sig = f.get("signature")
            ts = f.get("timestamp")
            leaves.append(BatchLeafRow(
                ref.chain_id, ref.block_number, ref.block_hash, ref.log_index, i, index,
                "0x" + f["tee_id"].hex() if "tee_id" in f else None,
                int(ts) if ts is not None else None,
                "0x" + f["input_hash"].hex(), "0x" + f["output_hash"].hex(),
                "0x" + sig.hex() if sig is not None else None,
            ))
    except PayloadError as e:
        row.status, row.error = "unparseable", str(e)
        return row, []
    root = "0x" + merkle.root_from_leaves(hashes).hex()
    row.leaves, row.computed_root = n, root
    if root != _hex(ref.merkle_root):
        row.status, row.error = "root_mismatch", f"root of the values {root} is not the event's {ref.merkle_root}"
    elif ref.batch_size is not None and n != ref.batch_size:
        row.status, row.error = "count_mismatch", f"{n} leaves, the event says batchSize {ref.batch_size}"
    else:
        row.status = "consistent"
    return row, leaves


def parse(ref: SettlementRef, body: bytes, truncated: bool = False
          ) -> tuple[IndividualPayloadRow | BatchPayloadRow, list[BatchLeafRow]]:
    if ref.kind == "individual":
        return parse_individual(ref, body, truncated), []
    return parse_batch(ref, body, truncated)
