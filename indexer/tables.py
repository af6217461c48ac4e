"""Every og table, declared once: its columns in order, each with its Postgres type and nullability.

A table is a slotted dataclass whose fields are its columns in the table's order, annotated with the
column types below (`Int8`, `Text | None`, ...). Everything else derives from these declarations: the
column lists, the COPY encoder (indexer.encode), the read-side SQLModel classes (indexer.models) and
the simulator's and benchmark's checks. The migrations in sql/migrations stay the source of truth
for the database; tests/integration/test_tables.py proves every declaration equal to the migrated
schema (names, types, nullability, order).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import Annotated, Any, ClassVar


@dataclass(frozen=True)
class PgType:
    """A column's Postgres type, named as format_type() prints it."""

    name: str

    @property
    def base(self) -> str:
        """The type without its modifier: numeric(78,0) -> numeric."""
        return self.name.split("(", 1)[0]


# The column types og tables use. uint256 values are Python ints in numeric(78,0); token amounts
# scaled by their decimals are Decimals in numeric; JSON is kept as its text in jsonb.
Int2 = Annotated[int, PgType("smallint")]
Int4 = Annotated[int, PgType("integer")]
Int8 = Annotated[int, PgType("bigint")]
Uint256 = Annotated[int, PgType("numeric(78,0)")]
Numeric = Annotated[Decimal, PgType("numeric")]
Text = Annotated[str, PgType("text")]
Jsonb = Annotated[str, PgType("jsonb")]
Bytea = Annotated[bytes, PgType("bytea")]
Timestamptz = Annotated[datetime, PgType("timestamp with time zone")]
Bool = Annotated[bool, PgType("boolean")]
Date = Annotated[date, PgType("date")]
Interval = Annotated[timedelta, PgType("interval")]


@dataclass(frozen=True)
class Column:
    name: str
    pg: PgType
    python: type
    nullable: bool


# Row types are slotted but not frozen: a frozen dataclass's __init__ goes through
# object.__setattr__ per field, ten times slower (2.5 us against 0.25 us for 16 fields, measured),
# and a backfill builds several rows per log. Nothing mutates a row after it is built.
@dataclass(slots=True)
class Row:
    """Base of every table declaration: TABLE names the table, KEY its primary key, the fields its
    columns in order."""

    TABLE: ClassVar[str] = ""
    KEY: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        return tuple(c.name for c in table_columns(cls))

    @classmethod
    def column(cls, name: str) -> str:
        """name, if the table declares such a column (for SQL composed of declared names); else ValueError."""
        if name not in cls.columns():
            raise ValueError(f"{cls.TABLE or cls.__name__} declares no column {name!r}")
        return name

    def values(self) -> tuple[Any, ...]:
        """The row's column values, in column order."""
        return _getter(type(self))(self)  # type: ignore[no-any-return]


_COLUMNS: dict[type[Row], tuple[Column, ...]] = {}
_GETTERS: dict[type[Row], attrgetter[Any]] = {}


def table_columns(cls: type[Row]) -> tuple[Column, ...]:
    """The declared columns of a table, in order, read from its fields' annotations."""
    found = _COLUMNS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls, include_extras=True)
        found = _COLUMNS[cls] = tuple(_column(cls, f.name, hints[f.name]) for f in fields(cls))
    return found


def _column(cls: type, name: str, hint: Any) -> Column:
    nullable = False
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        nullable = len(members) < len(typing.get_args(hint))
        if len(members) != 1:
            raise TypeError(f"{cls.__name__}.{name}: a column is one type, optionally | None")
        hint = members[0]
    meta = getattr(hint, "__metadata__", ())
    if not meta or not isinstance(meta[0], PgType):
        raise TypeError(f"{cls.__name__}.{name}: annotate with a column type of indexer.tables (Int8, Text, ...)")
    return Column(name, meta[0], hint.__origin__, nullable)


def _getter(cls: type[Row]) -> attrgetter[Any]:
    if cls not in _GETTERS:
        _GETTERS[cls] = attrgetter(*cls.columns())
    return _GETTERS[cls]


# --- Provenance ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Provenance(Row):
    """Where a row comes from: the chain, block and transaction (every event table starts so)."""

    chain_id: Int4
    block_number: Int8
    block_hash: Text
    block_time: Timestamptz
    tx_hash: Text


@dataclass(slots=True)
class EventRow(Provenance):
    """An event table: provenance and the log's index; (chain_id, block_number, log_index) is the key."""

    KEY: ClassVar[tuple[str, ...]] = ("chain_id", "block_number", "log_index")
    log_index: Int4


# --- Fetched context -----------------------------------------------------------------------------


@dataclass(slots=True)
class BlockRow(Row):
    """A block header the pipeline keeps: the ones holding logs, ending a range, and the window."""

    TABLE: ClassVar[str] = "blocks"
    KEY: ClassVar[tuple[str, ...]] = ("chain_id", "block_number")
    chain_id: Int4
    block_number: Int8
    block_hash: Text
    parent_hash: Text
    block_time: Timestamptz


@dataclass(slots=True)
class TransactionRow(Provenance):
    """A transaction that a row reads (its sender or calldata)."""

    TABLE: ClassVar[str] = "transactions"
    KEY: ClassVar[tuple[str, ...]] = ("chain_id", "block_number", "tx_index")
    tx_index: Int4
    tx_from: Text
    tx_to: Text | None
    input: Bytea | None


@dataclass(slots=True)
class RawLogRow(Provenance):
    """Every log fetched from a watched address, as the RPC returned it, with how it decoded."""

    TABLE: ClassVar[str] = "raw_logs"
    KEY: ClassVar[tuple[str, ...]] = ("chain_id", "block_number", "log_index")
    tx_index: Int4
    log_index: Int4
    address: Text
    topic0: Text | None
    topic1: Text | None
    topic2: Text | None
    topic3: Text | None
    data: Bytea
    status: Text  # decoded | unknown_topic | decode_error
    event: Text | None
    error: Text | None


# --- Decoded events ------------------------------------------------------------------------------


@dataclass(slots=True)
class SettlementRow(EventRow):
    TABLE: ClassVar[str] = "settlements"
    relay: Text
    kind: Text
    inferences: Uint256
    batch_size: Uint256 | None
    merkle_root: Text | None
    tee_id: Text | None
    eth_address: Text | None
    input_hash: Text | None
    output_hash: Text | None
    tee_timestamp: Uint256 | None
    walrus_blob_id: Text | None
    signature: Text | None
    verified_on_chain: Bool
    model: Text | None
    input_data: Bytea | None
    output_data: Bytea | None
    tx_from: Text
    trusted: Bool


@dataclass(slots=True)
class InferenceRow(EventRow):
    TABLE: ClassVar[str] = "inferences"
    contract: Text
    source: Text
    event: Text
    inference_id: Text | None
    model: Text | None
    mode: Int2 | None
    mode_name: Text | None
    payer: Text
    caller: Text | None
    request: Jsonb | None
    response: Jsonb | None


@dataclass(slots=True)
class TeeEventRow(EventRow):
    TABLE: ClassVar[str] = "tee_events"
    registry: Text
    event: Text
    tee_id: Text | None
    owner: Text | None
    tee_type: Int2 | None
    heartbeat_timestamp: Uint256 | None
    pcr_hash: Text | None
    args: Jsonb


@dataclass(slots=True)
class PaymentRow(EventRow):
    TABLE: ClassVar[str] = "payments"
    token: Text
    payer: Text
    payee: Text
    amount_raw: Uint256
    amount_opg: Numeric
    is_x402: Bool
    scheme: Text | None
    proxy: Text | None
    facilitator: Text | None
    tx_from: Text | None
    settle_owner: Text | None
    settle_amount_raw: Uint256 | None
    session_cap_raw: Uint256 | None


@dataclass(slots=True)
class ApprovalRow(EventRow):
    TABLE: ClassVar[str] = "approvals"
    token: Text
    owner: Text
    spender: Text
    value_raw: Uint256
    value_opg: Numeric
    to_permit2: Bool


@dataclass(slots=True)
class X402EventRow(EventRow):
    TABLE: ClassVar[str] = "x402_events"
    proxy: Text
    scheme: Text
    event: Text
    token: Text | None
    owner: Text | None
    reason: Text | None


# --- State kept by SQL (not written by COPY) -----------------------------------------------------


@dataclass(slots=True)
class IndexedRangeRow(Row):
    """A block range whose rows are committed; to_hash is the checkpoint's hash."""

    TABLE: ClassVar[str] = "indexed_ranges"
    KEY: ClassVar[tuple[str, ...]] = ("chain_id", "from_block")
    chain_id: Int4
    from_block: Int8
    to_block: Int8
    to_hash: Text
    indexed_at: Timestamptz


@dataclass(slots=True)
class TeeRow(Row):
    """Each TEE's state, recomputed from og.tee_events (sql/tees_refresh.sql)."""

    TABLE: ClassVar[str] = "tees"
    KEY: ClassVar[tuple[str, ...]] = ("chain_id", "registry", "tee_id")
    chain_id: Int4
    registry: Text
    tee_id: Text
    owner: Text | None
    tee_type: Int2 | None
    enabled: Bool
    registered_at: Timestamptz | None
    registered_block: Int8 | None
    last_heartbeat_at: Timestamptz | None
    heartbeats: Int8
    payment_address: Text | None
    endpoint: Text | None


@dataclass(slots=True)
class ModelRow(Row):
    """A listed model (the catalog); model_key is generated by og.normalize_model."""

    TABLE: ClassVar[str] = "models"
    KEY: ClassVar[tuple[str, ...]] = ("model_key",)
    model: Text
    model_key: Text
    kind: Text
    listed_at: Timestamptz | None
    source: Text
    loaded_at: Timestamptz


@dataclass(slots=True)
class ChainStateRow(Row):
    """What the live follower last saw of a chain."""

    TABLE: ClassVar[str] = "chain_state"
    KEY: ClassVar[tuple[str, ...]] = ("chain_id",)
    chain_id: Int4
    head: Int8 | None
    head_time: Timestamptz | None
    tip: Int8 | None
    last_progress_at: Timestamptz | None
    last_error: Text | None
    last_error_at: Timestamptz | None
    stalled_since: Timestamptz | None
    reorgs: Int8
    updated_at: Timestamptz
    stopped_reason: Text | None  # a reorg deeper than the window: stays until `og-indexer rollback`
    stopped_at: Timestamptz | None
    lagging_answers: Int8
    last_error_resolved_at: Timestamptz | None


# --- Walrus payloads (indexer.walrus: `og-indexer enrich`) ----------------------------------------


@dataclass(slots=True)
class BlobRow(Row):
    """One fetch outcome per Walrus blob id; body is the raw payload as served. Kept through reorgs."""

    TABLE: ClassVar[str] = "walrus_blobs"
    KEY: ClassVar[tuple[str, ...]] = ("blob_id",)
    blob_id: Text
    status: Text  # one of indexer.walrus.rows.BLOB_STATUSES
    http_status: Int4 | None
    attempts: Int4
    last_error: Text | None
    aggregator: Text | None  # base URL that gave the final answer
    fetched_at: Timestamptz
    size_bytes: Int8 | None  # bytes kept (the cap when truncated)
    sha256: Text | None
    body: Bytea | None


@dataclass(slots=True)
class SettlementPayloadRow(EventRow):
    """A row derived from a settlement's payload: the settlement's key and block, and the blob."""

    blob_id: Text


@dataclass(slots=True)
class IndividualPayloadRow(SettlementPayloadRow):
    """One per individual settlement with a stored payload."""

    TABLE: ClassVar[str] = "walrus_individual"
    status: Text  # one of indexer.walrus.rows.INDIVIDUAL_STATUSES
    error: Text | None
    model_raw: Text | None  # input.model, else output.model (valid names only)
    input_model_raw: Text | None  # as found, cut to MAX_TEXT characters
    output_model_raw: Text | None
    prompt_tokens: Int8 | None
    completion_tokens: Int8 | None
    total_tokens: Int8 | None
    streamed: Bool | None
    tee_id_matches: Bool | None  # None: the payload does not carry the field
    timestamp_matches: Bool | None
    eth_address_matches: Bool | None
    output_tee_matches: Bool | None
    consistent: Bool


@dataclass(slots=True)
class BatchPayloadRow(SettlementPayloadRow):
    """One per batch settlement with a stored payload."""

    TABLE: ClassVar[str] = "walrus_batches"
    status: Text  # one of indexer.walrus.rows.BATCH_STATUSES
    error: Text | None
    leaf_format: Text | None
    leaf_encoding: Text | None  # the payload's leafEncoding, as JSON text (cut to MAX_TEXT)
    leaves: Int4 | None
    computed_root: Text | None


@dataclass(slots=True)
class BatchLeafRow(Row):
    """One per leaf of a parsed batch payload."""

    TABLE: ClassVar[str] = "walrus_batch_leaves"
    KEY: ClassVar[tuple[str, ...]] = ("chain_id", "block_number", "log_index", "leaf_index")
    chain_id: Int4
    block_number: Int8
    block_hash: Text
    log_index: Int4
    leaf_index: Int4  # position in the payload's values
    tree_index: Int4
    tee_id: Text | None  # current leaf format only
    leaf_timestamp: Uint256 | None
    input_hash: Text
    output_hash: Text
    signature: Text | None


# --- Funding trace (indexer.funding: `og-indexer funding`) -----------------------------------------


@dataclass(slots=True)
class TokenTransferRow(EventRow):
    """Every OPG Transfer, whoever the parties (og.payments keeps those to payTo, with context)."""

    TABLE: ClassVar[str] = "token_transfers"
    token: Text
    from_address: Text
    to_address: Text
    amount_raw: Uint256
    amount_opg: Numeric
    kind: Text  # mint (from the zero address) | burn (to it) | transfer


@dataclass(slots=True)
class AddressLabelRow(Row):
    """A configured funding label ([chains.base] insiders / pay_to / bridges / markets)."""

    TABLE: ClassVar[str] = "address_labels"
    KEY: ClassVar[tuple[str, ...]] = ("chain_id", "address", "label", "source")
    chain_id: Int4
    address: Text
    label: Text  # insider | bridge | market
    source: Text  # insiders | pay_to | bridges | markets


@dataclass(slots=True)
class AddressCodeRow(Row):
    """eth_getCode of a funder, read at block_number (its funding block, or the head)."""

    TABLE: ClassVar[str] = "address_code"
    KEY: ClassVar[tuple[str, ...]] = ("chain_id", "address")
    chain_id: Int4
    address: Text
    block_number: Int8
    code_size: Int4
    checked_at: Timestamptz


# --- Where history begins (indexer.history) ------------------------------------------------------


@dataclass(slots=True)
class ContractStartRow(Row):
    """A watched contract's first block with code, found once by bisecting eth_getCode."""

    TABLE: ClassVar[str] = "contract_starts"
    KEY: ClassVar[tuple[str, ...]] = ("chain_id", "address")
    chain_id: Int4
    address: Text
    first_block: Int8 | None  # NULL: not found (no_code, no_history): searched again on the next start
    searched_to: Int8
    method: Text  # bisection | no_code | no_history
    note: Text
    calls: Int4
    searched_at: Timestamptz


# Tables a block range writes, by COPY, in this order.
ROW_TYPES: tuple[type[Row], ...] = (
    BlockRow,
    TransactionRow,
    RawLogRow,
    SettlementRow,
    InferenceRow,
    TeeEventRow,
    PaymentRow,
    ApprovalRow,
    X402EventRow,
    TokenTransferRow,
)
# Every og table og-indexer declares (the migration bookkeeping tables aside).
TABLES: tuple[type[Row], ...] = (
    *ROW_TYPES, IndexedRangeRow, TeeRow, ModelRow, ChainStateRow,
    BlobRow, IndividualPayloadRow, BatchPayloadRow, BatchLeafRow,
    AddressLabelRow, AddressCodeRow, ContractStartRow,
)
# Tables filled from logs (rebuilt by redecode); blocks and transactions are fetched context.
DECODED_TABLES = tuple(t.TABLE for t in ROW_TYPES if t not in (BlockRow, TransactionRow, RawLogRow))
