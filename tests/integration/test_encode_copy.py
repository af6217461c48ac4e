"""The decode process's COPY payloads (binary where a table allows it, text otherwise) write exactly
the rows asyncpg's own COPY writes, for every row type, on the real schema: NULLs, escapes, non-ASCII
text, empty and binary bytea, microsecond times, each integer type's extremes, numeric scale."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from indexer import store
from indexer.encode import encode_rows
from indexer.rows import ROW_TYPES, Row, Rows

INT_MAX = {"int2": 2**15 - 1, "int4": 2**31 - 1, "int8": 2**63 - 1, "numeric": 2**256 - 1}
INT_MIN = {"int2": -(2**15), "int4": -(2**31), "int8": -(2**63), "numeric": 0}


def _value(declared: str, pg: str, variant: int) -> Any:
    """A value of the field's declared type for its column type; variant 0 is an extreme, 1 a
    plain value, 2 NULL where the field allows it."""
    nullable = declared.endswith("| None")
    if variant == 2 and nullable:
        return None
    base = declared.removesuffix(" | None")
    if base == "int":
        return (INT_MAX if variant == 0 else INT_MIN)[pg]
    if base == "Decimal":
        return Decimal("123456789012345678901234567890.123456789012345678") if variant == 0 else Decimal(0)
    if base == "str":
        if pg == "jsonb":
            return '{"k": "tab\\t nl\\n back\\\\slash ünïcode ✓", "n": [1, 2.5, null]}' if variant == 0 else "[]"
        return "tab\t nl\n cr\r back\\slash ünïcode ✓ \\N" if variant == 0 else ""
    if base == "bytes":
        return b"\x00\xff\\\t\n\r" if variant == 0 else b""
    if base == "datetime":
        if variant == 0:
            return datetime(2026, 11, 22, 12, 34, 56, 789012, tzinfo=UTC)
        return datetime(1999, 12, 31, tzinfo=UTC)  # before Postgres's epoch: a negative count
    if base == "bool":
        return variant == 0
    raise AssertionError(f"no test value for {declared}")


def _rows(types: dict[str, tuple[str, ...]]) -> Rows:
    rows = Rows()
    for rt in ROW_TYPES:
        for variant in range(3):
            vals = [_value(str(f.type), pg, variant) for f, pg in zip(fields(rt), types[rt.TABLE], strict=True)]
            vals[1] = variant  # block_number: the key differs per row
            if "log_index" in rt.columns():
                vals[rt.columns().index("log_index")] = variant
            if rt.TABLE == "transactions":
                vals[rt.columns().index("tx_index")] = variant
                vals[rt.columns().index("tx_hash")] = f"0x{variant}"
            rows.add(rt(*vals))
    return rows


async def _snapshot(conn: asyncpg.Connection) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for rt in ROW_TYPES:
        cols = ", ".join(rt.columns())
        out[rt.TABLE] = [tuple(r) for r in await conn.fetch(f"select {cols} from og.{rt.TABLE} order by {cols}")]
    return out


async def _clear(conn: asyncpg.Connection) -> None:
    await conn.execute("truncate " + ", ".join(f"og.{rt.TABLE}" for rt in ROW_TYPES))


@pytest.mark.parametrize("fmt", ["binary", "text"])
async def test_encoded_payloads_write_what_asyncpg_writes(pool: asyncpg.Pool, fmt: str) -> None:
    async with pool.acquire() as conn:
        types = dict(await store.copy_types(conn))
        rows = _rows(types)
        async with conn.transaction():
            await store.write_rows(conn, 1, rows, fresh=True)
        expected = await _snapshot(conn)
        assert all(len(v) == 3 for v in expected.values())
        await _clear(conn)

        encoded = encode_rows(rows, types if fmt == "binary" else None)
        formats = {t.table: t.format for t in encoded.tables}
        if fmt == "binary":  # every table without a numeric column goes binary
            assert {t for t, f in formats.items() if f == "binary"} == {
                rt.TABLE for rt in ROW_TYPES if "numeric" not in types[rt.TABLE]
            } != set()
        else:
            assert set(formats.values()) == {"text"}
        async with conn.transaction():  # the direct COPY path
            await store.write_rows(conn, 1, encoded, fresh=True)
        assert await _snapshot(conn) == expected
        await _clear(conn)
        async with conn.transaction():  # the staged path (insert what is new)
            await store.write_rows(conn, 1, encoded)
        assert await _snapshot(conn) == expected


async def test_copy_types_follow_the_row_columns(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        types = await store.copy_types(conn)
    assert set(types) == {rt.TABLE for rt in ROW_TYPES}
    (raw_logs,) = [rt for rt in ROW_TYPES if rt.TABLE == "raw_logs"]
    raw = dict(zip(raw_logs.columns(), types["raw_logs"], strict=True))
    picked = (raw["chain_id"], raw["block_number"], raw["block_time"], raw["data"])
    assert picked == ("int4", "int8", "timestamptz", "bytea")


def test_a_value_out_of_its_columns_range_is_a_clear_error() -> None:
    from indexer.encode import encode_table_binary
    from indexer.rows import BlockRow

    types = ("int4", "int8", "text", "text", "timestamptz")
    row: Row = BlockRow(2**31, 1, "0x", "0x", datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="blocks: a value does not fit its column"):
        encode_table_binary(BlockRow, types, [row])
    with pytest.raises(TypeError, match="no COPY binary form"):
        encode_table_binary(BlockRow, ("int4", "text", "text", "text", "timestamptz"), [row])
