"""COPY text encoding of rows (the decode worker's output): NULLs, escapes, bytea, times, numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from indexer.encode import EncodedRows, encode_rows, encode_table
from indexer.rows import ROW_TYPES, BlockRow, RawLogRow, Rows, TeeEventRow

T = datetime(2026, 1, 1, 0, 0, 2, tzinfo=UTC)
H = "0x" + "ab" * 32


def test_raw_log_row_encodes_nulls_bytea_and_escapes() -> None:
    row = RawLogRow(8453, 7, H, T, H, 3, 1, "0x" + "cd" * 20, H, None, None, None, b"\x00\xff", "decode_error",
                    None, "bad\tdata\nat \\ 0")
    line = encode_table(RawLogRow, [row]).decode()
    assert line == (
        f"8453\t7\t{H}\t2026-01-01T00:00:02+00:00\t{H}\t3\t1\t0x{'cd' * 20}\t{H}\t\\N\t\\N\t\\N\t\\\\x00ff\t"
        "decode_error\t\\N\tbad\\tdata\\nat \\\\ 0\n"
    )


def test_every_row_type_has_a_text_form_for_each_column() -> None:
    from indexer.encode import _line_encoder

    for rt in ROW_TYPES:
        assert callable(_line_encoder(rt))


def test_numbers_booleans_and_json_text() -> None:
    row = TeeEventRow(10740, 1, H, T, H, 0, "0x" + "11" * 20, "HeartbeatReceived", H, None, None,
                      2**255, None, '{"k":"a\\\\b"}')
    fields = encode_table(TeeEventRow, [row]).decode().rstrip("\n").split("\t")
    assert fields[11] == str(2**255)
    assert fields[13] == '{"k":"a\\\\\\\\b"}'  # the JSON's escaped backslash, escaped again for COPY
    rows = Rows()
    rows.add(BlockRow(1, 5, H, H, T))
    rows.add(row)
    enc = encode_rows(rows)
    assert isinstance(enc, EncodedRows)
    assert enc.block_hashes == [(5, H)] and enc.count() == 2
    assert [t.table for t in enc.tables] == ["blocks", "tee_events"]


def test_decimal_amounts_keep_their_scale() -> None:
    from indexer.rows import ApprovalRow

    row = ApprovalRow(8453, 1, H, T, H, 0, H[:42], H[:42], H[:42], 123, Decimal(123).scaleb(-18), True)
    fields = encode_table(ApprovalRow, [row]).decode().rstrip("\n").split("\t")
    assert fields[9:12] == ["123", "1.23E-16", "t"]  # Postgres reads 1.23E-16 with scale 18
