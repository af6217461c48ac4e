"""Decoders compiled once per event and function from the ABI specs: canonical encodings by slicing.

A compiled decoder reads only the canonical ABI encoding (offsets where a standard encoder puts them,
zero padding, in-range integers, valid UTF-8, no bytes left over) and returns None for anything else,
so the caller falls back to eth-abi, which decides. Whatever a compiled decoder accepts, eth-abi
accepts too and decodes to the same value (tests/unit/test_fastdecode.py checks every event and
function of every ABI in abis/); values come out normalized as decode.py's `_normalize` gives them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .abi import EventSpec, FunctionSpec, Param


class NotCanonical(Exception):
    """The bytes are not the canonical encoding: let eth-abi decide."""


_ZERO_WORD = bytes(32)
_ARRAY = re.compile(r"^(.*)\[(\d*)\]$")
_WORD = re.compile(r"^(u?int)(\d*)$|^bytes(\d+)$|^(address|bool)$")

# A value reader: (data, pos) -> (value, end). For a static type pos is where its head is and end is
# pos + its size; for a dynamic type pos is where its tail starts and end is where the tail ends.
Reader = Callable[[bytes, int], tuple[Any, int]]


@dataclass(frozen=True)
class _Node:
    read: Reader
    size: int | None  # head size in bytes when static; None when dynamic


def _word_reader(typ: str) -> Reader:
    m = _WORD.match(typ)
    if m is None:
        raise ValueError(f"unsupported ABI type {typ!r}")
    if m.group(4) == "address":

        def read_address(data: bytes, pos: int) -> tuple[Any, int]:
            end = pos + 32
            if data[pos : pos + 12] != _ZERO_WORD[:12] or end > len(data):
                raise NotCanonical
            return "0x" + data[pos + 12 : end].hex(), end

        return read_address
    if m.group(4) == "bool":

        def read_bool(data: bytes, pos: int) -> tuple[Any, int]:
            end = pos + 32
            word = data[pos:end]
            if word == _ZERO_WORD:
                return False, end
            if word == _ONE_WORD:
                return True, end
            raise NotCanonical

        return read_bool
    if m.group(3):
        n = int(m.group(3))
        pad = bytes(32 - n)

        def read_fixed_bytes(data: bytes, pos: int) -> tuple[Any, int]:
            end = pos + 32
            if data[pos + n : end] != pad or end > len(data):
                raise NotCanonical
            return "0x" + data[pos : pos + n].hex(), end

        return read_fixed_bytes
    bits = int(m.group(2) or 256)
    if m.group(1) == "uint":
        limit = 1 << bits

        def read_uint(data: bytes, pos: int) -> tuple[Any, int]:
            end = pos + 32
            v = int.from_bytes(data[pos:end], "big")
            if v >= limit or end > len(data):
                raise NotCanonical
            return v, end

        return read_uint
    low, high = -(1 << (bits - 1)), 1 << (bits - 1)

    def read_int(data: bytes, pos: int) -> tuple[Any, int]:
        end = pos + 32
        if end > len(data):
            raise NotCanonical
        v = int.from_bytes(data[pos:end], "big", signed=True)
        if not low <= v < high:
            raise NotCanonical
        return v, end

    return read_int


_ONE_WORD = (1).to_bytes(32, "big")


def _read_length(data: bytes, pos: int) -> int:
    end = pos + 32
    if end > len(data) or data[pos : pos + 24] != _ZERO_WORD[:24]:
        raise NotCanonical
    return int.from_bytes(data[pos + 24 : end], "big")


def _bytes_reader(as_text: bool) -> Reader:
    def read_bytes(data: bytes, pos: int) -> tuple[Any, int]:
        n = _read_length(data, pos)
        start = pos + 32
        end = start + ((n + 31) // 32) * 32
        if end > len(data) or data[start + n : end] != _ZERO_WORD[: end - start - n]:
            raise NotCanonical
        raw = data[start : start + n]
        if not as_text:
            return raw, end
        try:
            return raw.decode("utf-8"), end
        except UnicodeDecodeError:
            raise NotCanonical from None

    return read_bytes


def _sequence(items: Sequence[_Node], head_size: int) -> Callable[[bytes, int], tuple[list[Any], int]]:
    """Read a tuple-like run of items whose heads start at base; dynamic tails must follow the heads
    in order, each where the previous one ended (the canonical layout)."""
    if all(it.size is not None for it in items):

        def read_static(data: bytes, base: int) -> tuple[list[Any], int]:
            out = []
            pos = base
            for it in items:
                v, pos = it.read(data, pos)
                out.append(v)
            return out, pos

        return read_static

    def read_dynamic(data: bytes, base: int) -> tuple[list[Any], int]:
        out = []
        head = base
        tail = base + head_size
        for it in items:
            if it.size is None:
                if _read_length(data, head) != tail - base:
                    raise NotCanonical
                v, tail = it.read(data, tail)
                head += 32
            else:
                v, head = it.read(data, head)
            out.append(v)
        return out, tail

    return read_dynamic


def _head_size(items: Sequence[_Node]) -> int:
    return sum(32 if it.size is None else it.size for it in items)


def _node(typ: str, components: tuple[Param, ...]) -> _Node:
    m = _ARRAY.match(typ)
    if m is not None:
        inner = _node(m.group(1), components)
        if m.group(2) == "":
            return _Node(_dynamic_array(inner), None)
        k = int(m.group(2))
        items = [inner] * k
        read = _sequence(items, _head_size(items))
        size = None if inner.size is None else inner.size * k

        def read_fixed_array(data: bytes, pos: int) -> tuple[Any, int]:
            return read(data, pos)

        return _Node(read_fixed_array, size)
    if typ.startswith("("):
        names = [c.name or str(i) for i, c in enumerate(components)]
        nodes = [_node(c.type, c.components) for c in components]
        read_items = _sequence(nodes, _head_size(nodes))
        static = all(n.size is not None for n in nodes)

        def read_tuple(data: bytes, pos: int) -> tuple[Any, int]:
            values, end = read_items(data, pos)
            return dict(zip(names, values, strict=True)), end

        return _Node(read_tuple, _head_size(nodes) if static else None)
    if typ in ("bytes", "string"):
        return _Node(_bytes_reader(typ == "string"), None)
    return _Node(_word_reader(typ), 32)


def _dynamic_array(inner: _Node) -> Reader:
    read_item, size = inner.read, inner.size
    if size is not None:

        def read_static_items(data: bytes, pos: int) -> tuple[Any, int]:
            n = _read_length(data, pos)
            at = pos + 32
            if at + n * size > len(data):
                raise NotCanonical
            out = []
            for _ in range(n):
                v, at = read_item(data, at)
                out.append(v)
            return out, at

        return read_static_items

    def read_dynamic_items(data: bytes, pos: int) -> tuple[Any, int]:
        n = _read_length(data, pos)
        base = pos + 32
        if base + n * 32 > len(data):
            raise NotCanonical
        head, tail = base, base + n * 32
        out = []
        for _ in range(n):
            if _read_length(data, head) != tail - base:
                raise NotCanonical
            v, tail = read_item(data, tail)
            out.append(v)
            head += 32
        return out, tail

    return read_dynamic_items


def _topic_reader(typ: str) -> Callable[[str], Any]:
    """An indexed parameter from its topic (0x-hex of 32 bytes)."""
    if typ in ("string", "bytes") or typ.endswith("]") or typ.startswith("("):
        return lambda topic: topic  # only the keccak hash is logged, kept as the RPC gave it
    read = _word_reader(typ)

    def topic_word(topic: str) -> Any:
        try:
            word = bytes.fromhex(topic[2:])
        except ValueError:
            raise NotCanonical from None
        if len(word) != 32:
            raise NotCanonical
        return read(word, 0)[0]

    return topic_word


EventDecoder = Callable[[Sequence[str], bytes], dict[str, Any] | None]
CallDecoder = Callable[[bytes], dict[str, Any] | None]


def compile_event(ev: EventSpec) -> EventDecoder:
    """topics[1:] and data -> args keyed by parameter name (indexed first, then data), or None when
    the log is not canonically encoded. The caller has checked the topic count."""
    topic_names = [p.name for p in ev.indexed]
    topic_readers = [_topic_reader(p.type) for p in ev.indexed]
    body = ev.unindexed
    body_names = [p.name for p in body]
    nodes = [_node(p.type, p.components) for p in body]
    read_body = _sequence(nodes, _head_size(nodes))
    indexed = list(zip(topic_names, topic_readers, strict=True))

    def decode(topics: Sequence[str], data: bytes) -> dict[str, Any] | None:
        try:
            args = {name: read(t) for (name, read), t in zip(indexed, topics, strict=True)}
            if body:
                values, end = read_body(data, 0)
                if end != len(data):
                    return None
                args.update(zip(body_names, values, strict=True))
            elif data:
                return None
        except NotCanonical:
            return None
        return args

    return decode


def compile_function(fn: FunctionSpec) -> CallDecoder:
    """Calldata after the selector -> args keyed by parameter name, or None when not canonical.
    Bytes after the ABI body are ignored, as decode_call ignores them."""
    names = [p.name for p in fn.params]
    nodes = [_node(p.type, p.components) for p in fn.params]
    read_args = _sequence(nodes, _head_size(nodes))

    def decode(data: bytes) -> dict[str, Any] | None:
        try:
            values, _ = read_args(data, 0)
        except NotCanonical:
            return None
        return dict(zip(names, values, strict=True))

    return decode
