"""What the Walrus tables hold: their statuses and the settlement facts a payload is checked against
(the tables themselves are declared in indexer.tables)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..tables import BatchLeafRow, BatchPayloadRow, BlobRow, IndividualPayloadRow, Row

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


PAYLOAD_ROW_TYPES: tuple[type[Row], ...] = (IndividualPayloadRow, BatchPayloadRow, BatchLeafRow)

__all__ = [
    "BATCH_STATUSES",
    "BLOB_STATUSES",
    "FINAL_STATUSES",
    "INDIVIDUAL_STATUSES",
    "PAYLOAD_ROW_TYPES",
    "BatchLeafRow",
    "BatchPayloadRow",
    "BlobRow",
    "IndividualPayloadRow",
    "SettlementRef",
]
