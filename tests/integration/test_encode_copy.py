"""The decode process's COPY binary payloads write exactly the rows asyncpg's own COPY writes (the
reference), for every declared table, on the real schema: NULLs, escapes, non-ASCII text, empty and
binary bytea, microsecond times, each integer type's extremes, uint256 extremes, numeric scale."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from indexer import store
from indexer.encode import encode_rows, encode_table
from indexer.rows import Rows
from indexer.tables import ROW_TYPES, BlockRow, Column, Row, table_columns

INT_MAX = {"smallint": 2**15 - 1, "integer": 2**31 - 1, "bigint": 2**63 - 1, "numeric": 2**256 - 1}
INT_MIN = {"smallint": -(2**15), "integer": -(2**31), "bigint": -(2**63), "numeric": 0}
DECIMALS = (
    Decimal("123456789012345678901234567890.123456789012345678"),
    Decimal("0.000500000000000000"),
    Decimal("-10000.5"),
    Decimal("1E+20"),
    Decimal(0),
    Decimal(123).scaleb(-18),
)


def _value(c: Column, variant: int) -> Any:
    """A value of the column's declared type; variant 0 is an extreme, 1 a plain value, 2 NULL where
    the column allows it (else another plain value)."""
    if variant == 2 and c.nullable:
        return None
    if c.python is int:
        return (INT_MAX if variant == 0 else INT_MIN)[c.pg.base]
    if c.python is Decimal:
        return DECIMALS[variant]
    if c.python is str:
        if c.pg.base == "jsonb":
            return '{"k": "tab\\t nl\\n back\\\\slash ünïcode ✓", "n": [1, 2.5, null]}' if variant == 0 else "[]"
        return "tab\t nl\n cr\r back\\slash ünïcode ✓ \\N" if variant == 0 else ""
    if c.python is bytes:
        return b"\x00\xff\\\t\n\r" if variant == 0 else b""
    if c.python is datetime:
        if variant == 0:
            return datetime(2026, 11, 22, 12, 34, 56, 789012, tzinfo=UTC)
        return datetime(1999, 12, 31, tzinfo=UTC)  # before Postgres's epoch: a negative count
    if c.python is bool:
        return variant == 0
    raise AssertionError(f"no test value for {c}")


def _rows() -> Rows:
    rows = Rows()
    for rt in ROW_TYPES:
        for variant in range(3):
            vals = [_value(c, variant) for c in table_columns(rt)]
            cols = rt.columns()
            vals[1] = variant  # block_number: the key differs per row
            for key in ("log_index", "tx_index"):
                if key in cols:
                    vals[cols.index(key)] = variant
            if rt.TABLE == "transactions":
                vals[cols.index("tx_hash")] = f"0x{variant}"
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


async def test_encoded_payloads_write_what_asyncpg_writes(pool: asyncpg.Pool) -> None:
    rows = _rows()
    async with pool.acquire() as conn:
        async with conn.transaction():  # the reference: asyncpg's own COPY of the same records
            for rt in ROW_TYPES:
                await conn.copy_records_to_table(
                    rt.TABLE, schema_name="og", columns=list(rt.columns()),
                    records=[r.values() for r in rows.by_table[rt.TABLE]],
                )
        expected = await _snapshot(conn)
        assert all(len(v) == 3 for v in expected.values())
        await _clear(conn)

        encoded = encode_rows(rows)
        assert [t.table for t in encoded.tables] == [rt.TABLE for rt in ROW_TYPES]
        async with conn.transaction():  # the direct COPY path
            await store.write_rows(conn, 1, encoded, fresh=True)
        assert await _snapshot(conn) == expected
        await _clear(conn)
        async with conn.transaction():  # the staged path (insert what is new)
            await store.write_rows(conn, 1, encoded)
        assert await _snapshot(conn) == expected


@pytest.mark.parametrize("value", DECIMALS)
async def test_numeric_keeps_value_and_scale(pool: asyncpg.Pool, value: Decimal) -> None:
    async with pool.acquire() as conn:
        await conn.execute("create temp table n (v numeric)")
        await conn.copy_to_table("n", source=io.BytesIO(_numeric_payload(value)), columns=["v"], format="binary")
        got = await conn.fetchval("select v from n")
        text = await conn.fetchval("select v::text from n")
    assert got == value and text == await _pg_text(pool, value)


def _numeric_payload(value: Decimal) -> bytes:
    from indexer.encode import _BINARY_HEADER, _BINARY_TRAILER, _b_decimal

    return _BINARY_HEADER + b"\x00\x01" + _b_decimal(value) + _BINARY_TRAILER


async def _pg_text(pool: asyncpg.Pool, value: Decimal) -> str:
    """How Postgres itself prints the value parsed from its text form (same digits, same scale)."""
    text: str = await pool.fetchval("select $1::text::numeric::text", str(value))
    return text


def test_a_value_out_of_its_columns_range_is_a_clear_error() -> None:
    row: Row = BlockRow(2**31, 1, "0x", "0x", datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="blocks: a value does not fit its column"):
        encode_table(BlockRow, [row])
