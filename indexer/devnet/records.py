"""Ground-truth record types: one frozen dataclass per kind of on-chain fact the simulator made.

A record that stands for rows of og tables says so with @mirrors: its fields are those tables'
declared columns (indexer.tables, indexer.views), under the declared names, and may be None only
where the column is nullable; the fields no table holds are listed as truth_only. Checked when the
record is defined, so a column renamed in its declaration cannot drift from the truth.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from indexer.tables import (
    ApprovalRow,
    BatchPayloadRow,
    IndividualPayloadRow,
    InferenceRow,
    PaymentRow,
    RawLogRow,
    Row,
    SettlementRow,
    TeeEventRow,
    TeeRow,
    TokenTransferRow,
    X402EventRow,
    table_columns,
)
from indexer.views import PayerFundingView

# Where every on-chain fact is, as the truth file names it: its block's time (an ISO string) and
# number. The tables' block_time and block_number hold them; the truth keeps its own short names.
WHEN = ("time", "block")

_R = TypeVar("_R")


@dataclass(frozen=True)
class Mirror:
    """A truth record's tables and the fields of it that none of them holds."""

    tables: tuple[type[Row], ...]
    truth_only: frozenset[str]
    absent_rows: bool


MIRRORS: dict[type, Mirror] = {}  # every record declared with @mirrors


def mirrors(
    *tables: type[Row], truth_only: tuple[str, ...], absent_rows: bool = False
) -> Callable[[type[_R]], type[_R]]:
    """Declare a record's fields to be columns of `tables` (nullable where any of them is), but for
    `truth_only`; raises TypeError at definition when a field is neither, or a truth_only field is a
    column after all. absent_rows: the record also stands for a row that is not there (its column
    fields are then None), so a field may be None whatever the column's nullability."""

    def check(cls: type[_R]) -> type[_R]:
        nullable: dict[str, bool] = {}
        for table in tables:
            for c in table_columns(table):
                nullable[c.name] = nullable.get(c.name, False) or c.nullable
        hints = typing.get_type_hints(cls)
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        where = " / ".join(t.TABLE for t in tables)
        for name in truth_only:
            if name not in names:
                raise TypeError(f"{cls.__name__}: truth_only names no field {name!r}")
            if name in nullable:
                raise TypeError(f"{cls.__name__}.{name} is a column of {where}, not truth_only")
        for name in sorted(names - set(truth_only)):
            if name not in nullable:
                raise TypeError(f"{cls.__name__}.{name}: {where} declares no such column (list it in truth_only?)")
            if _optional(hints[name]) and not nullable[name] and not absent_rows:
                raise TypeError(f"{cls.__name__}.{name} may be None, the column of {where} may not")
        MIRRORS[cls] = Mirror(tables, frozenset(truth_only), absent_rows)
        return cls

    return check


def _optional(hint: Any) -> bool:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return type(None) in typing.get_args(hint)
    return False


def iso(ts: int) -> str:
    """UTC ISO-8601 with a Z suffix, seconds precision: `2026-05-04T00:01:00Z`."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


@mirrors(PaymentRow, truth_only=WHEN)
@dataclass(frozen=True)
class Payment:
    """An OPG Transfer to a payTo address on Base; only is_x402 ones are payments."""

    time: str
    block: int
    token: str
    payer: str
    payee: str
    amount_raw: str
    is_x402: bool
    scheme: str | None  # upto | exact (None when not x402)
    proxy: str | None
    tx_from: str
    facilitator: str | None  # upto witness.facilitator
    settle_owner: str | None
    settle_amount_raw: str | None  # upto `amount` argument
    session_cap_raw: str | None  # permit.permitted.amount


@mirrors(ApprovalRow, truth_only=(*WHEN, "bundled"))
@dataclass(frozen=True)
class Approval:
    """An OPG Approval; bundled: emitted inside an x402 settleWithPermit transaction."""

    time: str
    block: int
    token: str
    owner: str
    spender: str
    value_raw: str
    to_permit2: bool
    bundled: bool


@mirrors(X402EventRow, truth_only=WHEN)
@dataclass(frozen=True)
class X402Event:
    time: str
    block: int
    proxy: str
    scheme: str
    event: str
    token: str | None
    owner: str | None
    reason: str | None


@mirrors(SettlementRow, truth_only=WHEN)
@dataclass(frozen=True)
class Settlement:
    """kind: batch | individual | legacy_single | legacy_batch | legacy_metadata."""

    time: str
    block: int
    relay: str
    kind: str
    inferences: int
    batch_size: int | None
    merkle_root: str | None
    tee_id: str | None
    eth_address: str | None
    walrus_blob_id: str | None
    verified_on_chain: bool
    model: str | None
    tx_from: str
    trusted: bool


@mirrors(InferenceRow, truth_only=WHEN)
@dataclass(frozen=True)
class Inference:
    """One log at 0xF4, InferenceHub or a workflow; model/mode of hub and workflow rows come from
    the 0xF4 event in the same transaction (every such transaction carries exactly one)."""

    time: str
    block: int
    contract: str
    source: str  # precompile | hub | workflow
    event: str
    inference_id: str | None
    model: str
    mode: int
    mode_name: str
    payer: str
    caller: str | None


@mirrors(RawLogRow, truth_only=("chain", *WHEN))
@dataclass(frozen=True)
class Anomaly:
    """A log at a watched address that must be kept raw; status: unknown_topic | decode_error."""

    chain: str
    time: str
    block: int
    address: str
    status: str
    topic0: str


@mirrors(TeeEventRow, TeeRow, truth_only=WHEN)
@dataclass(frozen=True)
class TeeRegistration:
    time: str
    block: int
    registry: str
    tee_id: str
    owner: str
    tee_type: int
    payment_address: str
    endpoint: str


@mirrors(TeeRow, truth_only=WHEN)
@dataclass(frozen=True)
class TeeToggle:
    time: str
    block: int
    tee_id: str
    enabled: bool


@mirrors(TeeEventRow, truth_only=WHEN)
@dataclass(frozen=True)
class Heartbeat:
    time: str
    block: int
    tee_id: str
    heartbeat_timestamp: int


# kind names the payload table (walrus_batches | walrus_individual) and payload_status is its status
# column (og.walrus_blobs has a status of its own: served says which); model is the payload's name
# (og.walrus_individual.model_raw), leaf_tees a count of og.walrus_batch_leaves rows. An expired
# blob has no payload row: its payload fields are None.
@mirrors(IndividualPayloadRow, BatchPayloadRow, absent_rows=True,
         truth_only=(*WHEN, "kind", "trusted", "served", "payload_status", "leaf_tees", "model"))
@dataclass(frozen=True)
class WalrusBlob:
    """The payload behind a relay settlement's blob id and what an indexer must make of it."""

    time: str  # the settlement's block time
    block: int
    blob_id: str
    kind: str  # batch | individual
    trusted: bool
    served: bool  # False: expired, the aggregator answers 404
    payload_status: str | None  # batch: og.walrus_batches.status; individual: og.walrus_individual.status
    consistent: bool | None  # the payload agrees with the event (batch: status consistent)
    leaf_format: str | None
    leaves: int | None
    leaf_tees: dict[str, int]  # leaves per TEE id (current leaf format only)
    model: str | None  # input.model, else output.model, as the payload names it
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    streamed: bool | None


Fact = (
    Payment | Approval | X402Event | Settlement | Inference | Anomaly | TeeRegistration | TeeToggle
    | Heartbeat | WalrusBlob
)


@mirrors(TokenTransferRow, truth_only=WHEN)
@dataclass(frozen=True)
class TokenTransfer:
    """An OPG Transfer on Base (= a row of og.token_transfers); kind: mint | burn | transfer."""

    time: str
    block: int
    token: str
    from_address: str
    to_address: str
    amount_raw: str
    kind: str


# The payer is the key of GroundTruth.funding; funded_amount_raw is raw units (the view: funded_opg).
@mirrors(PayerFundingView, truth_only=("flow", "origin", "funded_amount_raw"))
@dataclass(frozen=True)
class PayerFunding:
    """Where an x402 payer's OPG came from, as the funding trace must report it (og.payer_funding).

    flow names what the simulator did; origin is where the OPG really started, which the trace
    cannot see beyond two hops (flow three_hop: origin insider, funding_class eoa)."""

    flow: str  # treasury | faucet | market | bridge | two_hop | contract | three_hop | mixed | recycled | unfunded
    origin: str
    funding_class: str
    first_funder: str | None
    first_funder_class: str | None
    class_hop: int | None
    class_funder: str | None
    funded_amount_raw: str
    funding_transfers: int
    recycled_payments: int


@dataclass(frozen=True)
class FundingActors:
    """The devnet's labelled Base addresses (its [chains.base] insiders / markets / bridges) and the
    unlabelled contracts that fund payers."""

    insiders: tuple[str, ...]
    markets: tuple[str, ...]
    bridges: tuple[str, ...]
    contracts: tuple[str, ...]
