"""Typed read models (SQLModel) of the og tables and views, derived from their declarations
(indexer.tables, indexer.views).

For Python users reading the database: `from indexer.models import Payment`, then SQLModel/SQLAlchemy
as usual (`select(Payment).where(Payment.is_x402)`). Each class is generated from the table's one
declaration, so it cannot drift from what the pipeline writes; tests/integration/test_tables.py
proves the declarations equal to the migrated schema.

Read-side Python types follow what a Postgres driver returns: numeric columns (uint256 included) are
Decimal, jsonb columns the parsed JSON. A column named `registry` is the attribute
`registry_address` (SQLAlchemy's declarative classes reserve `registry`).
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    Interval,
    LargeBinary,
    Numeric,
    SmallInteger,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine
from sqlmodel import Field, SQLModel

from .tables import TABLES, Row, table_columns
from .tables import Column as Declared
from .views import VIEWS

# Column name -> attribute name where SQLAlchemy declarative classes reserve the column's name.
RENAMED_COLUMNS = {"registry": "registry_address", "metadata": "metadata_"}


def _sa_type(c: Declared) -> TypeEngine[Any]:
    base = c.pg.base
    if base == "numeric":
        args = c.pg.name[len("numeric("):-1].split(",") if "(" in c.pg.name else []
        return Numeric(int(args[0]), int(args[1])) if args else Numeric()
    simple: dict[str, TypeEngine[Any]] = {
        "smallint": SmallInteger(),
        "integer": Integer(),
        "bigint": BigInteger(),
        "text": Text(),
        "jsonb": JSONB(),
        "bytea": LargeBinary(),
        "timestamp with time zone": DateTime(timezone=True),
        "boolean": Boolean(),
        "date": Date(),
        "interval": Interval(),
    }
    return simple[base]


def _read_type(c: Declared) -> Any:
    if c.pg.base == "numeric":
        t: Any = Decimal
    elif c.pg.base == "jsonb":
        t = Any
    else:
        t = c.python
    return t | None if c.nullable and t is not Any else t


def read_model(rt: type[Row]) -> type[SQLModel]:
    """The SQLModel table class of a declared table or view (og schema), named after its declaration."""
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {
        "__tablename__": rt.TABLE,
        "__table_args__": {"schema": "og", "extend_existing": True},
        "__module__": __name__,
        "__doc__": f"A row of og.{rt.TABLE} (declared in indexer.tables.{rt.__name__}).",
        "__annotations__": annotations,
    }
    for c in table_columns(rt):
        attr = RENAMED_COLUMNS.get(c.name, c.name)
        annotations[attr] = _read_type(c)
        column = Column(c.name, _sa_type(c), primary_key=c.name in rt.KEY, nullable=c.nullable)
        namespace[attr] = Field(default=None, sa_column=column) if c.nullable else Field(sa_column=column)
    name = rt.__name__.removesuffix("Row").removesuffix("View")
    return cast(type[SQLModel], types.new_class(name, (SQLModel,), {"table": True}, lambda ns: ns.update(namespace)))


M = TypeVar("M", bound=SQLModel)


def from_record(model: type[M], record: Mapping[str, Any]) -> M:
    """A read model from a record keyed by column name (an asyncpg Record, a dict), validated."""
    return model.model_validate({RENAMED_COLUMNS.get(k, k): v for k, v in record.items()})


MODELS: dict[str, type[SQLModel]] = {rt.TABLE: read_model(rt) for rt in (*TABLES, *VIEWS)}

# Tables
Block = MODELS["blocks"]
Transaction = MODELS["transactions"]
RawLog = MODELS["raw_logs"]
Settlement = MODELS["settlements"]
Inference = MODELS["inferences"]
TeeEvent = MODELS["tee_events"]
Payment = MODELS["payments"]
Approval = MODELS["approvals"]
X402Event = MODELS["x402_events"]
IndexedRange = MODELS["indexed_ranges"]
Tee = MODELS["tees"]
Model = MODELS["models"]
ChainState = MODELS["chain_state"]
# Views
ChainHeads = MODELS["chain_heads"]
Windows = MODELS["windows"]
ModelInferences = MODELS["model_inferences"]
DailyActivity = MODELS["daily_activity"]
PayerStats = MODELS["payer_stats"]
PayerRetention = MODELS["payer_retention"]
ModelUsage = MODELS["model_usage"]
ReturningPayersPerModel = MODELS["returning_payers_per_model"]
CatalogVsUsage = MODELS["catalog_vs_usage"]
TeeFleet = MODELS["tee_fleet"]
VerificationCoverage = MODELS["verification_coverage"]
DemandConcentration = MODELS["demand_concentration"]
WindowSummary = MODELS["window_summary"]
SettlementProofs = MODELS["settlement_proofs"]
ProofAvailability = MODELS["proof_availability"]
ModelTokensDaily = MODELS["model_tokens_daily"]
FundingTransfers = MODELS["funding_transfers"]
PayerFunding = MODELS["payer_funding"]
DemandQuality = MODELS["demand_quality"]
PayerRetentionByFunding = MODELS["payer_retention_by_funding"]
# Funding tables
TokenTransfer = MODELS["token_transfers"]
AddressLabel = MODELS["address_labels"]
AddressCode = MODELS["address_code"]
ContractStart = MODELS["contract_starts"]
# Walrus tables
WalrusBlob = MODELS["walrus_blobs"]
WalrusIndividual = MODELS["walrus_individual"]
WalrusBatch = MODELS["walrus_batches"]
WalrusBatchLeaf = MODELS["walrus_batch_leaves"]
