"""Decode a block range and encode its rows as PostgreSQL COPY text: the work a decode process does.

During a large backfill the main process fetches and writes while a worker process turns each
range's logs into rows (rows.build_rows) and the rows into COPY text, so the two cores share the
CPU-bound part and the main process only sends bytes to Postgres. The row encoders are generated
once per row type from its dataclass fields (their declared types choose the text form), so a new
column needs no code here. The text is what COPY's text format reads back into exactly the values
asyncpg's binary COPY writes: tests/unit/test_encode.py and the benchmark's ground-truth check hold
the two paths to the same tables.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, cast

from .chain import Block, Log, Tx
from .config import ChainConfig
from .rows import ROW_TYPES, BlockRow, Row, Rows, build_rows

# Logs and transactions (named tuples) cross the process boundary as plain tuples: pickle writes
# and reads those at C speed, a named tuple costs a Python call each way.
LogTuple = tuple[int, str, str, int, int, str, tuple[str, ...], bytes]
TxTuple = tuple[str, int, str, int, str, str | None, bytes]


@dataclass(frozen=True, slots=True)
class EncodedTable:
    table: str
    columns: tuple[str, ...]
    n_rows: int
    payload: bytes  # COPY text format, one line per row


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


def pack_logs(logs: Iterable[Log]) -> list[LogTuple]:
    return [tuple(g) for g in logs]  # type: ignore[misc]


def pack_txs(txs: Mapping[str, Tx]) -> list[TxTuple]:
    return [tuple(t) for t in txs.values()]  # type: ignore[misc]


def decode_range(
    chain: ChainConfig,
    logs: Sequence[LogTuple],
    blocks: Mapping[int, Block],
    txs: Sequence[TxTuple],
    checkpoint_blocks: Sequence[Block],
) -> EncodedRows:
    """The decode worker's job for one range: rows.build_rows, then COPY text per table. The cyclic
    garbage collector is paused meanwhile: the range's objects are acyclic and freed by reference
    counting, and re-scanning them cost a quarter of the decode time (measured)."""
    gc.disable()
    try:
        tx_map = {t[0]: Tx._make(t) for t in txs}
        rows = build_rows(chain, [Log._make(g) for g in logs], blocks, tx_map, checkpoint_blocks)
        return encode_rows(rows)
    finally:
        gc.enable()


def encode_rows(rows: Rows) -> EncodedRows:
    out = EncodedRows(tees_touched=set(rows.tees_touched), undecoded=rows.undecoded)
    for rt in ROW_TYPES:
        batch = rows.by_table.get(rt.TABLE)
        if batch:
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


_TIMES: dict[datetime, str] = {}


def _time(dt: datetime) -> str:
    s = _TIMES.get(dt)
    if s is None:
        if len(_TIMES) > 100_000:
            _TIMES.clear()
        s = _TIMES[dt] = dt.isoformat()
    return s


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
