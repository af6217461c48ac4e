"""Decode logs and calldata with the ABI specs: pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .abi import EventSpec, FunctionSpec, Param
from .chain import Log
from .errors import OgIndexerError
from .fastdecode import CallDecoder, EventDecoder, compile_event, compile_function, storable_text


@dataclass(frozen=True, slots=True)
class Decoded:
    """A log decoded against its event: args keyed by ABI parameter name."""

    event: EventSpec
    args: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class DecodedCall:
    function: FunctionSpec
    args: Mapping[str, Any]


class DecodeError(OgIndexerError, ValueError):
    """The log or calldata does not decode against the ABI it should match."""


class UnknownTopic(DecodeError):
    """No event in the contract's ABIs has this topic0."""


def _normalize(param_type: str, value: Any, param: Param | None) -> Any:
    """Lowercase addresses, fixed bytes as 0x-hex, tuples as dicts named by their components,
    strings storable in Postgres (fastdecode.storable_text)."""
    if param_type.endswith("]"):
        inner = param_type[: param_type.rindex("[")]
        inner_param = None
        if param is not None and param.components:
            inner_param = Param(param.name, inner, False, param.components, "")
        return [_normalize(inner, v, inner_param) for v in value]
    if param_type.startswith("("):
        comps = param.components if param is not None else ()
        return {
            c.name or str(i): _normalize(c.type, v, c)
            for i, (c, v) in enumerate(zip(comps, value, strict=True))
        }
    if param_type == "address":
        return str(value).lower()
    if param_type.startswith("bytes") and param_type != "bytes":
        return "0x" + bytes(value).hex()
    if param_type == "string":
        return storable_text(value)
    return value


def _is_hashed_when_indexed(param_type: str) -> bool:
    """Indexed dynamic values (string, bytes, arrays, tuples) appear only as their keccak hash."""
    return param_type in ("string", "bytes") or param_type.endswith("]") or param_type.startswith("(")


# Compiled decoders by the id of their (cached, long-lived) spec; the spec is kept to pin the id.
_EVENT_DECODERS: dict[int, tuple[EventSpec, int, EventDecoder]] = {}
_CALL_DECODERS: dict[int, tuple[FunctionSpec, CallDecoder]] = {}


def _event_decoder(ev: EventSpec) -> tuple[int, EventDecoder]:
    entry = _EVENT_DECODERS.get(id(ev))
    if entry is None or entry[0] is not ev:
        entry = _EVENT_DECODERS[id(ev)] = (ev, len(ev.indexed), compile_event(ev))
    return entry[1], entry[2]


def _call_decoder(fn: FunctionSpec) -> CallDecoder:
    entry = _CALL_DECODERS.get(id(fn))
    if entry is None or entry[0] is not fn:
        entry = _CALL_DECODERS[id(fn)] = (fn, compile_function(fn))
    return entry[1]


def decode_log(log: Log, events: Mapping[str, EventSpec]) -> Decoded:
    """Decode a log against the topic0 map of its contract. Raises UnknownTopic / DecodeError.
    The event's compiled decoder reads canonical encodings; anything else goes through eth-abi."""
    t0 = log.topic0
    ev = events.get(t0) if t0 is not None else None
    if ev is None:
        raise UnknownTopic(f"no event with topic0 {t0} in this contract's ABIs")
    n_indexed, fast = _event_decoder(ev)
    if len(log.topics) != 1 + n_indexed:
        raise DecodeError(f"{ev.signature}: expected {1 + n_indexed} topics, got {len(log.topics)}")
    args = fast(log.topics[1:], log.data)
    if args is not None:
        return Decoded(ev, args)
    return Decoded(ev, decode_log_generic(log, ev))


def decode_log_generic(log: Log, ev: EventSpec) -> dict[str, Any]:
    """The reference decoding with eth-abi (topic count already checked)."""
    from eth_abi.abi import decode as abi_decode  # imported on first use: a decode process needs it rarely
    from eth_abi.exceptions import DecodingError

    indexed = ev.indexed
    args: dict[str, Any] = {}
    for p, topic in zip(indexed, log.topics[1:], strict=True):
        if _is_hashed_when_indexed(p.type):
            args[p.name] = topic
            continue
        try:
            (v,) = abi_decode([p.type], bytes.fromhex(topic[2:]))
        except (DecodingError, ValueError, OverflowError) as e:
            raise DecodeError(f"{ev.signature}: topic for {p.name} does not decode as {p.type}: {e}") from e
        args[p.name] = _normalize(p.type, v, p)
    body = ev.unindexed
    if body:
        try:
            values = abi_decode([p.type for p in body], log.data)
        except (DecodingError, ValueError, OverflowError, TypeError) as e:
            raise DecodeError(f"{ev.signature}: data does not decode: {e}") from e
        for p, v in zip(body, values, strict=True):
            args[p.name] = _normalize(p.type, v, p)
    elif log.data:
        raise DecodeError(f"{ev.signature}: expected no data, got {len(log.data)} bytes")
    return args


def decode_call(data: bytes, functions: Mapping[str, FunctionSpec]) -> DecodedCall:
    """Decode transaction input by its 4-byte selector. Trailing bytes after the ABI body are ignored."""
    if len(data) < 4:
        raise DecodeError("calldata shorter than a selector")
    selector = "0x" + data[:4].hex()
    fn = functions.get(selector)
    if fn is None:
        raise DecodeError(f"unknown selector {selector}")
    args = _call_decoder(fn)(data[4:])
    if args is not None:
        return DecodedCall(fn, args)
    return DecodedCall(fn, decode_call_generic(data, fn))


def decode_call_generic(data: bytes, fn: FunctionSpec) -> dict[str, Any]:
    """The reference decoding of calldata with eth-abi (selector already matched)."""
    from eth_abi.abi import decode as abi_decode
    from eth_abi.exceptions import DecodingError

    try:
        values = abi_decode([p.type for p in fn.params], data[4:], strict=False)
    except (DecodingError, ValueError, OverflowError, TypeError) as e:
        raise DecodeError(f"{fn.signature}: calldata does not decode: {e}") from e
    return {p.name: _normalize(p.type, v, p) for p, v in zip(fn.params, values, strict=True)}


def to_json(value: Any) -> Any:
    """A decoded value made JSON-safe: bytes as 0x-hex, big ints as strings beyond 2**53."""
    t = type(value)  # exact types first: what the decoders build, checked without ABC look-ups
    if t is str or t is bool:
        return value
    if t is dict:
        return {k: to_json(v) for k, v in value.items()}
    if t is list or t is tuple:
        return [to_json(v) for v in value]
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -(2**53) < value < 2**53 else str(value)
    if isinstance(value, Mapping):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [to_json(v) for v in value]
    return value
