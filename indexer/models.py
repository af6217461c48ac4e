"""SQLModel row models of the og tables, for Python users reading the database (typed, read-side).

The migrations in sql/migrations are the source of truth; tests/integration/test_models.py proves
these classes match the migrated schema column for column.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, LargeBinary, Numeric, SmallInteger, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

SCHEMA = {"schema": "og"}


def _uint() -> Any:
    return Field(sa_type=Numeric(78, 0))


def _uint_opt() -> Any:
    return Field(default=None, sa_type=Numeric(78, 0))


def _time() -> Any:
    return Field(sa_type=DateTime(timezone=True))


class Provenance(SQLModel):
    """Columns every event table carries; (chain_id, block_number, log_index) is the key."""

    chain_id: int = Field(primary_key=True)
    block_number: int = Field(primary_key=True, sa_type=BigInteger)
    block_hash: str
    block_time: datetime = _time()
    tx_hash: str
    log_index: int = Field(primary_key=True)


class Block(SQLModel, table=True):
    __tablename__ = "blocks"
    __table_args__ = SCHEMA
    chain_id: int = Field(primary_key=True)
    block_number: int = Field(primary_key=True, sa_type=BigInteger)
    block_hash: str
    parent_hash: str
    block_time: datetime = _time()


class IndexedRange(SQLModel, table=True):
    __tablename__ = "indexed_ranges"
    __table_args__ = SCHEMA
    chain_id: int = Field(primary_key=True)
    from_block: int = Field(primary_key=True, sa_type=BigInteger)
    to_block: int = Field(sa_type=BigInteger)
    to_hash: str
    indexed_at: datetime = _time()


class RawLog(Provenance, table=True):
    __tablename__ = "raw_logs"
    __table_args__ = SCHEMA
    tx_index: int
    address: str
    topic0: str | None = None
    topic1: str | None = None
    topic2: str | None = None
    topic3: str | None = None
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str
    event: str | None = None
    error: str | None = None


class Transaction(SQLModel, table=True):
    __tablename__ = "transactions"
    __table_args__ = SCHEMA
    chain_id: int = Field(primary_key=True)
    block_number: int = Field(primary_key=True, sa_type=BigInteger)
    block_hash: str
    block_time: datetime = _time()
    tx_hash: str
    tx_index: int = Field(primary_key=True)
    tx_from: str
    tx_to: str | None = None
    input: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class Settlement(Provenance, table=True):
    __tablename__ = "settlements"
    __table_args__ = SCHEMA
    relay: str
    kind: str
    inferences: Decimal = _uint()
    batch_size: Decimal | None = _uint_opt()
    merkle_root: str | None = None
    tee_id: str | None = None
    eth_address: str | None = None
    input_hash: str | None = None
    output_hash: str | None = None
    tee_timestamp: Decimal | None = _uint_opt()
    walrus_blob_id: str | None = None
    signature: str | None = None
    verified_on_chain: bool
    model: str | None = None
    input_data: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    output_data: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    tx_from: str
    trusted: bool


class Inference(Provenance, table=True):
    __tablename__ = "inferences"
    __table_args__ = SCHEMA
    contract: str
    source: str
    event: str
    inference_id: str | None = None
    model: str | None = None
    mode: int | None = Field(default=None, sa_type=SmallInteger)
    mode_name: str | None = None
    payer: str
    caller: str | None = None
    request: Any | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    response: Any | None = Field(default=None, sa_column=Column(JSONB, nullable=True))


class TeeEvent(Provenance, table=True):
    __tablename__ = "tee_events"
    __table_args__ = SCHEMA
    registry_address: str = Field(sa_column=Column("registry", Text, nullable=False))
    event: str
    tee_id: str | None = None
    owner: str | None = None
    tee_type: int | None = Field(default=None, sa_type=SmallInteger)
    heartbeat_timestamp: Decimal | None = _uint_opt()
    pcr_hash: str | None = None
    args: Any = Field(sa_column=Column(JSONB, nullable=False))


class Tee(SQLModel, table=True):
    __tablename__ = "tees"
    __table_args__ = SCHEMA
    chain_id: int = Field(primary_key=True)
    # column "registry" (the name `registry` is reserved on SQLAlchemy declarative classes)
    registry_address: str = Field(sa_column=Column("registry", Text, primary_key=True))
    tee_id: str = Field(primary_key=True)
    owner: str | None = None
    tee_type: int | None = Field(default=None, sa_type=SmallInteger)
    enabled: bool
    registered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    registered_block: int | None = Field(default=None, sa_type=BigInteger)
    last_heartbeat_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    heartbeats: int = Field(sa_type=BigInteger)
    payment_address: str | None = None
    endpoint: str | None = None


class Payment(Provenance, table=True):
    __tablename__ = "payments"
    __table_args__ = SCHEMA
    token: str
    payer: str
    payee: str
    amount_raw: Decimal = _uint()
    amount_opg: Decimal = Field(sa_type=Numeric)
    is_x402: bool
    scheme: str | None = None
    proxy: str | None = None
    facilitator: str | None = None
    tx_from: str | None = None
    settle_owner: str | None = None
    settle_amount_raw: Decimal | None = _uint_opt()
    session_cap_raw: Decimal | None = _uint_opt()


class Approval(Provenance, table=True):
    __tablename__ = "approvals"
    __table_args__ = SCHEMA
    token: str
    owner: str
    spender: str
    value_raw: Decimal = _uint()
    value_opg: Decimal = Field(sa_type=Numeric)
    to_permit2: bool


class X402Event(Provenance, table=True):
    __tablename__ = "x402_events"
    __table_args__ = SCHEMA
    proxy: str
    scheme: str
    event: str
    token: str | None = None
    owner: str | None = None
    reason: str | None = None


class TokenTransfer(Provenance, table=True):
    __tablename__ = "token_transfers"
    __table_args__ = SCHEMA
    token: str
    from_address: str
    to_address: str
    amount_raw: Decimal = _uint()
    amount_opg: Decimal = Field(sa_type=Numeric)
    kind: str  # mint | burn | transfer


class AddressLabel(SQLModel, table=True):
    __tablename__ = "address_labels"
    __table_args__ = SCHEMA
    chain_id: int = Field(primary_key=True)
    address: str = Field(primary_key=True)
    label: str = Field(primary_key=True)  # insider | bridge | market
    source: str = Field(primary_key=True)  # insiders | pay_to | bridges | markets


class AddressCode(SQLModel, table=True):
    __tablename__ = "address_code"
    __table_args__ = SCHEMA
    chain_id: int = Field(primary_key=True)
    address: str = Field(primary_key=True)
    block_number: int = Field(sa_type=BigInteger)
    code_size: int
    checked_at: datetime = _time()
