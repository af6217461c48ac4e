"""The ground truth's records against the table declarations: a field that stands for a column
carries the column's declared name, every other field is listed as truth-only."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass

import pytest

from indexer.devnet import records
from indexer.devnet.catalog import Model
from indexer.devnet.records import MIRRORS, mirrors
from indexer.devnet.truth import GroundTruth, Tee
from indexer.tables import PaymentRow, table_columns


def _records_in_truth() -> set[type]:
    """The record types a GroundTruth document holds (tuples of them, dicts of them, or one)."""
    found: set[type] = set()
    pending: list[type] = [GroundTruth]
    while pending:
        cls = pending.pop()
        for hint in _hints(cls):
            if dataclasses.is_dataclass(hint) and isinstance(hint, type) and hint not in found:
                found.add(hint)
                pending.append(hint)
    return found


def _hints(cls: type) -> list[object]:
    out: list[object] = []
    for hint in typing.get_type_hints(cls).values():
        out += [hint, *typing.get_args(hint)]
    return out


def test_every_record_standing_for_table_rows_names_declared_columns() -> None:
    row_records = {
        records.Payment, records.Approval, records.X402Event, records.Settlement, records.Inference,
        records.Anomaly, records.TokenTransfer, records.WalrusBlob, records.PayerFunding,
        records.TeeRegistration, records.TeeToggle, records.Heartbeat, Tee, Model,
    }
    assert set(MIRRORS) == row_records
    for record, mirror in MIRRORS.items():
        columns = {c.name for t in mirror.tables for c in table_columns(t)}
        names = {f.name for f in dataclasses.fields(record)}
        assert names - mirror.truth_only <= columns, record
        assert not mirror.truth_only & columns, record
        assert names - mirror.truth_only, record  # it does mirror something


def test_records_in_the_truth_file_that_mirror_no_table_are_summaries() -> None:
    # What the truth file holds beside row records: aggregates and configuration, no table's rows.
    summaries = {"SimConfig", "ChainSummary", "Actors", "Day", "Payer", "ModelUse", "Offchain", "ModelTokens",
                 "Walrus", "FundingActors"}
    assert {r.__name__ for r in _records_in_truth() - set(MIRRORS)} == summaries


def test_a_record_restating_a_column_under_another_name_is_refused() -> None:
    with pytest.raises(TypeError, match=r"Renamed\.amount: payments declares no such column"):

        @mirrors(PaymentRow, truth_only=("time",))
        @dataclass(frozen=True)
        class Renamed:
            time: str
            amount: str  # og.payments calls it amount_raw


def test_a_truth_only_field_that_is_a_column_is_refused() -> None:
    with pytest.raises(TypeError, match=r"Hidden\.payer is a column of payments"):

        @mirrors(PaymentRow, truth_only=("payer",))
        @dataclass(frozen=True)
        class Hidden:
            payer: str
            payee: str


def test_a_record_field_may_be_none_only_where_its_column_may() -> None:
    with pytest.raises(TypeError, match=r"Loose\.payer may be None"):

        @mirrors(PaymentRow, truth_only=())
        @dataclass(frozen=True)
        class Loose:
            payer: str | None
            facilitator: str | None  # nullable in og.payments: fine
