"""Row types of the Walrus tables (columns declared once; COPY and reads derive from them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from ..rows import Row

BLOB_STATUSES = ("fetched", "truncated", "missing", "too_large", "blocked", "rejected", "failed")
# Final outcomes: never fetched again (missing only with `enrich --retry-missing`).
FINAL_STATUSES = ("fetched", "truncated", "too_large", "blocked", "rejected")
INDIVIDUAL_STATUSES = ("parsed", "invalid", "unparseable")
BATCH_STATUSES = ("consistent", "root_mismatch", "count_mismatch", "unknown_leaf_format", "unparseable")


@dataclass(frozen=True, slots=True)
class SettlementRef:
    """What a payload is checked against: the on-chain facts of its settlement (og.settlements)."""

    chain_id: int
    block_number: int
    block_hash: str
    block_time: datetime
    tx_hash: str
    log_index: int
    kind: str  # batch | individual
    blob_id: str
    batch_size: int | None
    merkle_root: str | None
    tee_id: str | None
    eth_address: str | None
    input_hash: str | None
    output_hash: str | None
    tee_timestamp: int | None


@dataclass(slots=True)
class BlobRow(Row):
    """One fetch outcome per blob id (og.walrus_blobs); body is the raw payload as served."""

    TABLE: ClassVar[str] = "walrus_blobs"
    blob_id: str
    status: str  # one of BLOB_STATUSES
    http_status: int | None
    attempts: int
    last_error: str | None
    aggregator: str | None  # base URL that gave the final answer
    fetched_at: datetime
    size_bytes: int | None  # bytes kept (the cap when truncated)
    sha256: str | None
    body: bytes | None


@dataclass(slots=True)
class SettlementKeyRow(Row):
    """Provenance shared by every payload-derived row: its settlement's key and block."""

    chain_id: int
    block_number: int
    block_hash: str
    block_time: datetime
    tx_hash: str
    log_index: int
    blob_id: str


@dataclass(slots=True)
class IndividualPayloadRow(SettlementKeyRow):
    """og.walrus_individual: one per individual settlement with a stored payload."""

    TABLE: ClassVar[str] = "walrus_individual"
    status: str  # one of INDIVIDUAL_STATUSES
    error: str | None
    model_raw: str | None  # input.model, else output.model (valid names only)
    input_model_raw: str | None  # as found, cut to MAX_TEXT characters
    output_model_raw: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    streamed: bool | None
    tee_id_matches: bool | None  # None: the payload does not carry the field
    timestamp_matches: bool | None
    eth_address_matches: bool | None
    output_tee_matches: bool | None
    consistent: bool


@dataclass(slots=True)
class BatchPayloadRow(SettlementKeyRow):
    """og.walrus_batches: one per batch settlement with a stored payload."""

    TABLE: ClassVar[str] = "walrus_batches"
    status: str  # one of BATCH_STATUSES
    error: str | None
    leaf_format: str | None
    leaf_encoding: str | None  # the payload's leafEncoding, as JSON text (cut to MAX_TEXT)
    leaves: int | None
    computed_root: str | None


@dataclass(slots=True)
class BatchLeafRow(Row):
    """og.walrus_batch_leaves: one per leaf of a parsed batch payload."""

    TABLE: ClassVar[str] = "walrus_batch_leaves"
    chain_id: int
    block_number: int
    block_hash: str
    log_index: int
    leaf_index: int  # position in the payload's values
    tree_index: int
    tee_id: str | None  # current leaf format only
    leaf_timestamp: Decimal | None
    input_hash: str
    output_hash: str
    signature: str | None


PAYLOAD_ROW_TYPES: tuple[type[Row], ...] = (IndividualPayloadRow, BatchPayloadRow, BatchLeafRow)
