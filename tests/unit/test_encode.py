"""COPY binary encoding of declared rows (the decode worker's output): tuple layout, NULLs, numeric."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Context, Decimal
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexer.batch import EncodedRows
from indexer.encode import _b_decimal, _b_uint, encode_rows, encode_table
from indexer.rows import Rows
from indexer.tables import ROW_TYPES, BlockRow, RawLogRow, Row, TeeEventRow

T = datetime(2026, 1, 1, 0, 0, 2, tzinfo=UTC)
H = "0x" + "ab" * 32
HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)


def _fields(payload: bytes) -> list[bytes | None]:
    """The one tuple of a one-row COPY binary payload, field by field (None for NULL)."""
    assert payload.startswith(HEADER) and payload.endswith(b"\xff\xff")
    body = payload[len(HEADER):-2]
    (n,) = struct.unpack(">h", body[:2])
    out: list[bytes | None] = []
    pos = 2
    for _ in range(n):
        (size,) = struct.unpack(">i", body[pos:pos + 4])
        pos += 4
        if size < 0:
            out.append(None)
        else:
            out.append(body[pos:pos + size])
            pos += size
    assert pos == len(body)
    return out


def test_raw_log_row_is_one_tuple_with_nulls_bytea_and_text() -> None:
    row = RawLogRow(8453, 7, H, T, H, 1, 3, "0x" + "cd" * 20, H, None, None, None, b"\x00\xff", "decode_error",
                    None, "bad\tdata\nat \\ 0")
    f = _fields(encode_table(RawLogRow, [row]))
    assert len(f) == len(RawLogRow.columns()) == 16
    assert f[0] == struct.pack(">i", 8453) and f[1] == struct.pack(">q", 7)
    assert f[3] == struct.pack(">q", 820_540_802_000_000)  # microseconds since 2000-01-01 UTC
    assert f[5] == struct.pack(">i", 1) and f[6] == struct.pack(">i", 3)  # tx_index, then log_index
    assert f[9:12] == [None, None, None]
    assert f[12] == b"\x00\xff" and f[15] == b"bad\tdata\nat \\ 0"  # no escaping in binary


def test_every_declared_row_type_has_a_binary_encoder() -> None:
    from indexer.encode import _binary_encoder

    for rt in ROW_TYPES:
        assert callable(_binary_encoder(rt))


def test_json_is_versioned_text_and_uint256_is_numeric() -> None:
    row = TeeEventRow(10740, 1, H, T, H, 0, "0x" + "11" * 20, "HeartbeatReceived", H, None, None,
                      2**255, None, '{"k":"a\\\\b"}')
    f = _fields(encode_table(TeeEventRow, [row]))
    assert f[11] == _b_uint(2**255)[4:]
    assert f[13] == b'\x01{"k":"a\\\\b"}'
    rows = Rows()
    rows.add(BlockRow(1, 5, H, H, T))
    rows.add(row)
    enc = encode_rows(rows)
    assert isinstance(enc, EncodedRows)
    assert enc.block_hashes == [(5, H)] and enc.count() == 2
    assert [t.table for t in enc.tables] == ["blocks", "tee_events"]


def _numeric(ndigits: int, weight: int, sign: int, dscale: int, *digits: int) -> bytes:
    return struct.pack(f">ihhHH{len(digits)}H", 8 + 2 * len(digits), ndigits, weight, sign, dscale, *digits)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, _numeric(0, 0, 0, 0)),
        (7, _numeric(1, 0, 0, 0, 7)),
        (10000, _numeric(1, 1, 0, 0, 1)),
        (12345678, _numeric(2, 1, 0, 0, 1234, 5678)),
        (-123450000, _numeric(2, 2, 0x4000, 0, 1, 2345)),
    ],
)
def test_integers_as_numeric(value: int, expected: bytes) -> None:
    assert _b_uint(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0.5"), _numeric(1, -1, 0, 1, 5000)),
        (Decimal("0.0005"), _numeric(1, -1, 0, 4, 5)),
        (Decimal("1.50"), _numeric(2, 0, 0, 2, 1, 5000)),
        (Decimal(123).scaleb(-18), _numeric(2, -4, 0, 18, 1, 2300)),  # 1.23E-16 with scale 18
        (Decimal("-10000.5"), _numeric(3, 1, 0x4000, 1, 1, 0, 5000)),
        (Decimal("1E+5"), _numeric(1, 1, 0, 0, 10)),
        (Decimal("0.000"), _numeric(0, 0, 0, 3)),
    ],
)
def test_decimals_as_numeric_keep_their_scale(value: Decimal, expected: bytes) -> None:
    assert _b_decimal(value) == expected


def test_a_column_without_a_declared_type_is_refused() -> None:
    @dataclass(slots=True)
    class Bad(Row):
        TABLE: ClassVar[str] = "bad"
        n: int

    with pytest.raises(TypeError, match="annotate with a column type"):
        Bad.columns()


def _reference_numeric(value: Decimal) -> bytes:
    """numeric's send form as its specification reads: decimal digits in groups of four around the
    point, zero groups at either end dropped, the display scale kept."""
    sign, digits, exp = value.as_tuple()
    assert isinstance(exp, int)
    text = "".join(map(str, digits))
    whole, frac = (text + "0" * exp, "") if exp >= 0 else (text[:exp], text[exp:].rjust(-exp, "0"))
    whole = whole.lstrip("0")
    whole = "0" * (-len(whole) % 4) + whole
    frac += "0" * (-len(frac) % 4)
    groups = [int(whole[i:i + 4]) for i in range(0, len(whole), 4)]
    weight = len(groups) - 1
    groups += [int(frac[i:i + 4]) for i in range(0, len(frac), 4)]
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        return _numeric(0, 0, 0, max(0, -exp))
    return _numeric(len(groups), weight, 0x4000 if sign else 0, max(0, -exp), *groups)


@given(st.integers(min_value=-(2**256), max_value=2**256))
def test_integers_as_numeric_match_the_reference(value: int) -> None:
    assert _b_uint(value) == _reference_numeric(Decimal(value))


@given(st.integers(min_value=-(2**256), max_value=2**256), st.integers(min_value=-30, max_value=30))
def test_decimals_as_numeric_match_the_reference(coefficient: int, exp: int) -> None:
    value = Decimal(coefficient).scaleb(exp, Context(prec=100))  # plain and scientific text forms alike
    assert _b_decimal(value) == _reference_numeric(value)
