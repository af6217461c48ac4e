"""Decode a block range and encode its rows for PostgreSQL COPY: the work a decode process does.

During a large backfill the main process fetches and writes while a worker process turns each
range's logs into rows (rows.build_rows) and the rows into COPY payloads, so the two cores share the
CPU-bound part and the main process only sends bytes to Postgres. The row encoders are generated
once per table from its declaration (indexer.tables), so a new column needs no code here.

The COPY format is binary for every table: the column types come from the table declarations
(indexer.tables), so nothing is read from the database's catalog. Postgres reads binary with less
work than text (no hex for bytea, no timestamp or numeric parsing) and it is a third smaller.
tests/unit/test_encode.py and tests/integration/test_encode_copy.py prove that every declared table
reads back exactly the values its rows hold.
"""

from __future__ import annotations

import gc
import os
import struct
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any, cast

import msgspec

from .batch import EncodedRows, EncodedTable
from .chain import Block, Log, Tx
from .config import ChainConfig
from .rows import Rows, build_rows
from .tables import ROW_TYPES, BlockRow, Row, table_columns

# A range's logs and transactions cross to the decode process as one MessagePack payload (the
# Structs of chain.py, encoded and decoded in C); pickle then only copies bytes.
_FETCHED = msgspec.msgpack.Decoder(tuple[list[Log], list[Tx]])
_pack = msgspec.msgpack.Encoder().encode


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


def decode_range(
    chain: ChainConfig,
    fetched: bytes,
    blocks: Mapping[int, Block],
    checkpoint_blocks: Sequence[Block],
) -> EncodedRows:
    """The decode worker's job for one range (its logs and transactions from pack_fetched):
    rows.build_rows, then a COPY payload per table. The cyclic garbage collector is paused
    meanwhile: the range's objects are acyclic and freed by reference counting, and re-scanning
    them cost a quarter of the decode time (measured)."""
    gc.disable()
    try:
        logs, txs = _FETCHED.decode(fetched)
        rows = build_rows(chain, logs, blocks, {t.hash: t for t in txs}, checkpoint_blocks)
        return encode_rows(rows)
    finally:
        gc.enable()


def encode_rows(rows: Rows) -> EncodedRows:
    """Each table's rows as one COPY binary payload."""
    out = EncodedRows(
        tees_touched=set(rows.tees_touched), undecoded=rows.undecoded, undecoded_calls=list(rows.undecoded_calls)
    )
    for rt in ROW_TYPES:
        batch = rows.by_table.get(rt.TABLE)
        if batch:
            out.tables.append(EncodedTable(rt.TABLE, rt.columns(), len(batch), encode_table(rt, batch)))
    out.block_hashes = [(r.block_number, r.block_hash) for r in rows.by_table.get(BlockRow.TABLE, ())
                        if isinstance(r, BlockRow)]
    return out


# --- COPY binary format --------------------------------------------------------------------------
# A header, then per row a 16-bit field count and per field a 32-bit length (-1: NULL) and the
# value in the type's binary send form; then a trailer. Integers are big-endian; timestamptz is
# microseconds since 2000-01-01 UTC; jsonb is a version byte (1) and the JSON text; numeric is its
# base-10000 digits (below).

_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
_BINARY_TRAILER = b"\xff\xff"
_LEN = struct.Struct(">i").pack
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NUMERIC_HEAD = struct.Struct(">ihhHH").pack  # length, ndigits, weight, sign, dscale
_NUMERIC_NEG = 0x4000
_POW10 = (1, 10, 100, 1000)


# Block times repeat across a range's rows: each is encoded once (a bounded memo, in C).
_per_block_time = lru_cache(maxsize=1 << 16)


def _b_bytea(b: bytes) -> bytes:
    return _LEN(len(b)) + b


def _b_jsonb(s: str) -> bytes:
    b = s.encode()
    return _LEN(len(b) + 1) + b"\x01" + b


@_per_block_time
def _b_time(dt: datetime) -> bytes:
    return _LEN(8) + struct.pack(">q", (dt - _PG_EPOCH) // _MICROSECOND)


def _numeric(coefficient: int, scale: int, negative: bool) -> bytes:
    """numeric's send form of +-coefficient * 10**-scale (scale >= 0, kept as the display scale): its
    base-10000 digits, aligned on the decimal point, from integer arithmetic (no digit strings)."""
    if coefficient == 0:
        return _NUMERIC_HEAD(8, 0, 0, 0, scale)
    pad = -scale % 4  # align the point on a group boundary
    if pad:
        coefficient *= _POW10[pad]
    groups: list[int] = []
    append = groups.append
    while coefficient:
        coefficient, digit = divmod(coefficient, 10000)
        append(digit)
    weight = len(groups) - 1 - (scale + pad) // 4
    low = 0
    while groups[low] == 0:  # trailing zero groups are implied by the weight
        low += 1
    if low:
        del groups[:low]
    groups.reverse()
    n = len(groups)
    return _NUMERIC_HEAD(8 + 2 * n, n, weight, _NUMERIC_NEG if negative else 0, scale) + _groups(n)(*groups)


@cache
def _groups(n: int) -> Callable[..., bytes]:
    return struct.Struct(f">{n}H").pack


def _b_uint(v: int) -> bytes:
    """An integer as numeric (uint256 columns)."""
    return _numeric(-v, 0, True) if v < 0 else _numeric(v, 0, False)


def _b_decimal(d: Decimal) -> bytes:
    """A finite Decimal as numeric, keeping its scale (1.50 stays 1.50, as the text form would).
    Read from its plain text form (made in C) when it has one: twice as fast as its digit tuple."""
    text = str(d)
    if "E" not in text:
        negative = text.startswith("-")
        whole, _, frac = text.lstrip("-").partition(".")
        return _numeric(int(whole + frac), len(frac), negative)
    sign, digits, exp = d.as_tuple()
    if not isinstance(exp, int):
        raise ValueError(f"numeric columns take finite values, not {d}")
    coefficient = int("".join(map(str, digits)))
    if exp >= 0:
        return _numeric(coefficient * 10**exp, 0, bool(sign))
    return _numeric(coefficient, -exp, bool(sign))


# Postgres base type -> (the Python type it takes, an expression writing the non-null value {v}).
_BINARY: dict[str, tuple[type, str]] = {
    "smallint": (int, "_i2(2, {v})"),
    "integer": (int, "_i4(4, {v})"),
    "bigint": (int, "_i8(8, {v})"),
    "numeric": (int, "_b_uint({v})"),
    "text": (str, "_LEN(len(x := {v}.encode())) + x"),  # inline: one call fewer per text value
    "jsonb": (str, "_b_jsonb({v})"),
    "bytea": (bytes, "_b_bytea({v})"),
    "timestamp with time zone": (datetime, "_b_time({v})"),
    "boolean": (bool, "(_TRUE if {v} else _FALSE)"),
}
_BINARY_NAMESPACE: dict[str, Any] = {
    "_i2": struct.Struct(">ih").pack,
    "_i4": struct.Struct(">ii").pack,
    "_i8": struct.Struct(">iq").pack,
    "_LEN": _LEN,
    "_b_jsonb": _b_jsonb,
    "_b_bytea": _b_bytea,
    "_b_time": _b_time,
    "_b_uint": _b_uint,
    "_b_decimal": _b_decimal,
    "_TRUE": _LEN(1) + b"\x01",
    "_FALSE": _LEN(1) + b"\x00",
    "NULL": _LEN(-1),
}
_BINARY_ENCODERS: dict[type[Row], Callable[[Row], bytes]] = {}


def encode_table(rt: type[Row], batch: Sequence[Row]) -> bytes:
    """Rows of one table as a whole COPY binary payload."""
    tuple_ = _binary_encoder(rt)
    try:
        body = b"".join([tuple_(r) for r in batch])
    except struct.error as e:  # an integer out of its column's range: Postgres would refuse it too
        raise ValueError(f"{rt.TABLE}: a value does not fit its column: {e}") from e
    return _BINARY_HEADER + body + _BINARY_TRAILER


def _binary_encoder(rt: type[Row]) -> Callable[[Row], bytes]:
    """A function row -> one COPY binary tuple, generated from the table's declared columns (it
    reads the row's attributes directly: no record tuple per row)."""
    enc = _BINARY_ENCODERS.get(rt)
    if enc is not None:
        return enc
    cols = table_columns(rt)
    parts = [repr(struct.pack(">h", len(cols)))]
    for c in cols:
        if c.pg.base not in _BINARY:
            raise TypeError(f"{rt.__name__}.{c.name}: no COPY binary form for Postgres {c.pg.name}")
        takes, expr = _BINARY[c.pg.base]
        if c.python is Decimal and c.pg.base == "numeric":
            expr = "_b_decimal({v})"
        elif c.python is not takes:
            raise TypeError(f"{rt.__name__}.{c.name}: Postgres {c.pg.name} takes {takes.__name__}, not {c.python}")
        value = expr.format(v=f"r.{c.name}")
        parts.append(f"(NULL if r.{c.name} is None else {value})" if c.nullable else value)
    src = "def tuple_(r):\n    return b''.join((" + ", ".join(parts) + "))\n"
    namespace = dict(_BINARY_NAMESPACE)
    exec(compile(src, f"<copy binary encoder for {rt.TABLE}>", "exec"), namespace)
    enc = _BINARY_ENCODERS[rt] = cast(Callable[[Row], bytes], namespace["tuple_"])
    return enc
