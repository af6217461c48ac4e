"""Decode a block range and encode its rows for PostgreSQL COPY: the work a decode process does.

During a large backfill the main process fetches and writes while a worker process turns each
range's logs into rows (rows.build_rows) and the rows into COPY payloads, so the two cores share the
CPU-bound part and the main process only sends bytes to Postgres. The row encoders are generated
once per row type from its dataclass fields, so a new column needs no code here.

Two COPY formats. Binary where every column of a table has a binary form here (integers, text,
bytea, timestamptz, bool, jsonb), given the column types read from the database's catalog
(store.copy_types): Postgres reads it with less work (no hex for bytea, no timestamp parsing) and
it is a third smaller. Text otherwise (numeric columns), and when no catalog types are given.
Both read back into exactly the values asyncpg's own COPY writes: tests/unit/test_encode.py,
tests/integration/test_encode_copy.py and the benchmark's ground-truth check hold the paths to the
same tables.
"""

from __future__ import annotations

import gc
import os
import struct
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, cast

import msgspec

from .chain import Block, Log, Tx
from .config import ChainConfig
from .rows import ROW_TYPES, BlockRow, Row, Rows, build_rows

# A range's logs and transactions cross to the decode process as one MessagePack payload (the
# Structs of chain.py, encoded and decoded in C); pickle then only copies bytes.
_FETCHED = msgspec.msgpack.Decoder(tuple[list[Log], list[Tx]])
_pack = msgspec.msgpack.Encoder().encode


@dataclass(frozen=True, slots=True)
class EncodedTable:
    table: str
    columns: tuple[str, ...]
    n_rows: int
    payload: bytes  # in COPY's format below: text (one line per row) or binary (header, tuples, trailer)
    format: Literal["text", "binary"] = "text"


@dataclass
class EncodedRows:
    """A range's rows, encoded per table, with what the commit needs besides them."""

    tables: list[EncodedTable] = field(default_factory=list)
    block_hashes: list[tuple[int, str]] = field(default_factory=list)  # of the blocks rows
    tees_touched: set[tuple[str, str]] = field(default_factory=set)
    undecoded: int = 0

    def count(self) -> int:
        return sum(t.n_rows for t in self.tables)


def exit_with_parent(parent_pid: int) -> None:
    """Decode worker initializer: end this process when its parent is gone. A parent killed outright
    (SIGKILL) cannot shut its pool down, and a pool worker holds both ends of its task pipe, so it
    would otherwise wait for work forever."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def pack_fetched(logs: Sequence[Log], txs: Mapping[str, Tx]) -> bytes:
    """A range's logs and transactions as decode_range takes them."""
    return _pack((logs, list(txs.values())))


# Table -> the Postgres type (pg_type.typname) of each of its row type's columns, in column order.
CopyTypes = Mapping[str, tuple[str, ...]]


def decode_range(
    chain: ChainConfig,
    fetched: bytes,
    blocks: Mapping[int, Block],
    checkpoint_blocks: Sequence[Block],
    copy_types: CopyTypes | None = None,
) -> EncodedRows:
    """The decode worker's job for one range (its logs and transactions from pack_fetched):
    rows.build_rows, then a COPY payload per table. The cyclic garbage collector is paused
    meanwhile: the range's objects are acyclic and freed by reference counting, and re-scanning
    them cost a quarter of the decode time (measured)."""
    gc.disable()
    try:
        logs, txs = _FETCHED.decode(fetched)
        rows = build_rows(chain, logs, blocks, {t.hash: t for t in txs}, checkpoint_blocks)
        return encode_rows(rows, copy_types)
    finally:
        gc.enable()


def encode_rows(rows: Rows, copy_types: CopyTypes | None = None) -> EncodedRows:
    """Each table's rows as one COPY payload: binary where copy_types gives the table's column types
    and each has a binary form here, text otherwise."""
    out = EncodedRows(tees_touched=set(rows.tees_touched), undecoded=rows.undecoded)
    for rt in ROW_TYPES:
        batch = rows.by_table.get(rt.TABLE)
        if not batch:
            continue
        types = copy_types.get(rt.TABLE) if copy_types is not None else None
        if types is not None and all(t in _BINARY for t in types):
            payload = encode_table_binary(rt, types, batch)
            out.tables.append(EncodedTable(rt.TABLE, rt.columns(), len(batch), payload, "binary"))
        else:
            out.tables.append(EncodedTable(rt.TABLE, rt.columns(), len(batch), encode_table(rt, batch)))
    out.block_hashes = [(r.block_number, r.block_hash) for r in rows.by_table.get(BlockRow.TABLE, ())
                        if isinstance(r, BlockRow)]
    return out


def encode_table(rt: type[Row], batch: Sequence[Row]) -> bytes:
    line = _line_encoder(rt)
    return "".join([line(r) for r in batch]).encode()


# --- COPY text format ----------------------------------------------------------------------------
# NULL is \N; in text values backslash, tab, newline and carriage return are escaped; bytea is
# written in its hex form (\x…, the backslash escaped); timestamptz in ISO 8601 with its offset.


def _text(s: str) -> str:
    if "\\" in s or "\t" in s or "\n" in s or "\r" in s:
        return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return s


def _bytea(b: bytes) -> str:
    return "\\\\x" + b.hex()


def _bool(v: bool) -> str:
    return "t" if v else "f"


# Block times repeat across a range's rows: each is formatted once (a bounded memo, in C).
_per_block_time = lru_cache(maxsize=1 << 16)


@_per_block_time
def _time(dt: datetime) -> str:
    return dt.isoformat()


# Field type (as declared) -> the function that writes a non-null value; str() for numbers.
_WRITERS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "int": ("str", str),
    "Decimal": ("str", str),
    "str": ("_text", _text),
    "bytes": ("_bytea", _bytea),
    "bool": ("_bool", _bool),
    "datetime": ("_time", _time),
}
_LINE_ENCODERS: dict[type[Row], Callable[[Row], str]] = {}


def _line_encoder(rt: type[Row]) -> Callable[[Row], str]:
    """A function row -> one COPY text line, generated from the row type's fields (it reads the
    row's attributes directly: no record tuple per row)."""
    enc = _LINE_ENCODERS.get(rt)
    if enc is not None:
        return enc
    parts = []
    for f in fields(rt):
        declared = str(f.type).replace(" ", "")
        nullable = declared.endswith("|None")
        base = declared.removesuffix("|None")
        if base not in _WRITERS:
            raise TypeError(f"{rt.__name__}.{f.name}: no COPY text form for type {f.type!r}")
        fn = _WRITERS[base][0]
        value = f"{fn}(r.{f.name})"
        parts.append(f"{{NULL if r.{f.name} is None else {value}}}" if nullable else f"{{{value}}}")
    src = "def line(r):\n    return f\"" + "\\t".join(parts) + "\\n\"\n"
    namespace: dict[str, Any] = {name: w for name, w in _WRITERS.values()}
    namespace["NULL"] = "\\N"
    exec(compile(src, f"<copy line encoder for {rt.TABLE}>", "exec"), namespace)
    enc = _LINE_ENCODERS[rt] = cast(Callable[[Row], str], namespace["line"])
    return enc


# --- COPY binary format --------------------------------------------------------------------------
# A header, then per row a 16-bit field count and per field a 32-bit length (-1: NULL) and the
# value in the type's binary send form; then a trailer. Integers are big-endian; timestamptz is
# microseconds since 2000-01-01 UTC; jsonb is a version byte (1) and the JSON text.

_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
_BINARY_TRAILER = b"\xff\xff"
_LEN = struct.Struct(">i").pack
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _b_bytea(b: bytes) -> bytes:
    return _LEN(len(b)) + b


def _b_jsonb(s: str) -> bytes:
    b = s.encode()
    return _LEN(len(b) + 1) + b"\x01" + b


@_per_block_time
def _b_time(dt: datetime) -> bytes:
    return _LEN(8) + struct.pack(">q", (dt - _PG_EPOCH) // _MICROSECOND)


# Postgres type -> (the declared field type it takes, an expression writing the non-null value {v}).
_BINARY: dict[str, tuple[str, str]] = {
    "int2": ("int", "_i2(2, {v})"),
    "int4": ("int", "_i4(4, {v})"),
    "int8": ("int", "_i8(8, {v})"),
    "text": ("str", "_LEN(len(x := {v}.encode())) + x"),  # inline: one call fewer per text value
    "jsonb": ("str", "_b_jsonb({v})"),
    "bytea": ("bytes", "_b_bytea({v})"),
    "timestamptz": ("datetime", "_b_time({v})"),
    "bool": ("bool", "(_TRUE if {v} else _FALSE)"),
}
_BINARY_NAMESPACE: dict[str, Any] = {
    "_i2": struct.Struct(">ih").pack,
    "_i4": struct.Struct(">ii").pack,
    "_i8": struct.Struct(">iq").pack,
    "_LEN": _LEN,
    "_b_jsonb": _b_jsonb,
    "_b_bytea": _b_bytea,
    "_b_time": _b_time,
    "_TRUE": _LEN(1) + b"\x01",
    "_FALSE": _LEN(1) + b"\x00",
    "NULL": _LEN(-1),
}
_BINARY_ENCODERS: dict[tuple[type[Row], tuple[str, ...]], Callable[[Row], bytes]] = {}


def encode_table_binary(rt: type[Row], types: tuple[str, ...], batch: Sequence[Row]) -> bytes:
    """Rows of one type as a whole COPY binary payload, given their columns' Postgres types."""
    tuple_ = _binary_encoder(rt, types)
    try:
        body = b"".join([tuple_(r) for r in batch])
    except struct.error as e:  # an integer out of its column's range: Postgres would refuse it too
        raise ValueError(f"{rt.TABLE}: a value does not fit its column: {e}") from e
    return _BINARY_HEADER + body + _BINARY_TRAILER


def _binary_encoder(rt: type[Row], types: tuple[str, ...]) -> Callable[[Row], bytes]:
    """A function row -> one COPY binary tuple, generated from the row type's fields and their
    columns' Postgres types."""
    enc = _BINARY_ENCODERS.get((rt, types))
    if enc is not None:
        return enc
    fs = fields(rt)
    if len(fs) != len(types):
        raise TypeError(f"{rt.TABLE}: {len(fs)} row fields but {len(types)} column types")
    parts = [repr(struct.pack(">h", len(fs)))]
    for f, pg in zip(fs, types, strict=True):
        declared = str(f.type).replace(" ", "")
        nullable = declared.endswith("|None")
        base = declared.removesuffix("|None")
        if pg not in _BINARY or _BINARY[pg][0] != base:
            raise TypeError(f"{rt.__name__}.{f.name}: no COPY binary form for {f.type!r} as Postgres {pg}")
        value = _BINARY[pg][1].format(v=f"r.{f.name}")
        parts.append(f"(NULL if r.{f.name} is None else {value})" if nullable else value)
    src = "def tuple_(r):\n    return b''.join((" + ", ".join(parts) + "))\n"
    namespace = dict(_BINARY_NAMESPACE)
    exec(compile(src, f"<copy binary encoder for {rt.TABLE}>", "exec"), namespace)
    enc = _BINARY_ENCODERS[rt, types] = cast(Callable[[Row], bytes], namespace["tuple_"])
    return enc
