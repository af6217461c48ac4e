"""The ground-truth document: typed summary of everything the simulator put on both chains.

Written as JSON with sorted keys (byte-identical for the same seed); see indexer/devnet/README.md
for the format. Times are UTC ISO strings (`2026-05-04T13:05:00Z`), amounts decimal strings.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import orjson

from indexer.devnet.catalog import Model
from indexer.devnet.errors import DevnetError
from indexer.devnet.records import (
    Anomaly,
    Approval,
    FundingActors,
    Inference,
    PayerFunding,
    Payment,
    Settlement,
    TokenTransfer,
    WalrusBlob,
    X402Event,
    mirrors,
)
from indexer.tables import TeeRow

FORMAT = "og-devnet-ground-truth/1"
HEARTBEAT_MAX_AGE = 1800  # registry default: a TEE is live if its last heartbeat is this recent
SETTLEMENT_KINDS = ("batch", "individual", "legacy_single", "legacy_batch", "legacy_metadata")


@dataclass(frozen=True)
class SimConfig:
    days: int
    seed: int
    start: str
    end: str  # exclusive: start + days
    anomalies: bool


@dataclass(frozen=True)
class ChainSummary:
    chain_id: int
    first_block: int
    last_block: int
    first_block_time: str
    last_block_time: str
    blocks: int
    txs: int
    logs: int
    event_counts: dict[str, int]  # "role.Event" (role from indexer.config) -> logs; anomalies apart


@dataclass(frozen=True)
class Actors:
    relayers: tuple[str, ...]  # trusted settlement senders
    untrusted_settlers: tuple[str, ...]
    registry_admin: str
    tee_operators: tuple[str, ...]
    facilitators: tuple[str, ...]
    pay_to: tuple[str, ...]
    legacy_users: tuple[str, ...]


@mirrors(TeeRow, truth_only=("last_heartbeat_block", "last_heartbeat_timestamp", "fate", "active_at_end"))
@dataclass(frozen=True)
class Tee:
    tee_id: str
    registry: str
    owner: str
    tee_type: int
    registered_at: str
    registered_block: int
    payment_address: str
    endpoint: str
    enabled: bool  # at the end of the window
    heartbeats: int
    last_heartbeat_at: str | None  # block time
    last_heartbeat_block: int | None
    last_heartbeat_timestamp: int | None  # the event's `timestamp` argument
    fate: str  # live | dead (stopped heartbeating) | disabled | toggled (disabled, re-enabled)
    active_at_end: bool  # enabled and last heartbeat <= 1800 s before the window end


@dataclass(frozen=True)
class Day:
    payments: int
    amount_raw: str
    payers: int
    new_payers: int
    returning_payers: int
    approvals_to_permit2: int
    onboarded: int
    non_x402_transfers_to_pay_to: int
    settlements: int  # trusted only (tx_from in actors.relayers), as every settlement figure here
    settlements_by_kind: dict[str, int]
    untrusted_settlements: int
    inferences_settled: int
    inferences_verified: int
    legacy_inferences: int
    heartbeats: int
    tees_active_at_end: int


@dataclass(frozen=True)
class Payer:
    payments: int
    amount_raw: str
    first_payment_at: str
    last_payment_at: str
    days: tuple[str, ...]
    returning: bool
    onboarded_at: str | None
    schemes: dict[str, int]


@dataclass(frozen=True)
class ModelUse:
    kind: str
    listed: bool
    legacy_inferences: int
    legacy_payers: int
    metadata_settlements: int
    first_seen_at: str | None
    last_seen_at: str | None


@dataclass(frozen=True)
class Offchain:
    """What happened off-chain behind the traffic (not recoverable from chain data)."""

    sessions: int
    private_sessions: int
    requests: int
    requests_by_mode: dict[str, int]
    requests_by_model: dict[str, int]


@dataclass(frozen=True)
class ModelTokens:
    """Trusted individual settlements whose consistent payload names the model, and their tokens
    (None when no payload carried usage)."""

    inferences: int
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None


@dataclass(frozen=True)
class Walrus:
    """The payloads behind relay settlements: every blob, then per normalised model and per TEE."""

    blobs: tuple[WalrusBlob, ...]
    models: dict[str, ModelTokens]
    tee_batch_items: dict[str, int]  # leaves naming the TEE in trusted batches with parsed payloads


@dataclass(frozen=True)
class GroundTruth:
    format: str
    config: SimConfig
    chains: dict[str, ChainSummary]
    actors: Actors
    catalog: tuple[Model, ...]
    payments: tuple[Payment, ...]
    approvals: tuple[Approval, ...]
    x402_events: tuple[X402Event, ...]
    settlements: tuple[Settlement, ...]
    inferences: tuple[Inference, ...]
    tees: tuple[Tee, ...]
    anomalies: tuple[Anomaly, ...]
    daily: dict[str, Day]
    payers: dict[str, Payer]
    models: dict[str, ModelUse]
    offchain: Offchain
    walrus: Walrus
    # Funding trace (issue #14): every OPG Transfer, each x402 payer's funding, the labelled actors.
    token_transfers: tuple[TokenTransfer, ...] = ()
    funding: dict[str, PayerFunding] = field(default_factory=dict)
    funding_actors: FundingActors = field(default_factory=lambda: FundingActors((), (), (), ()))

    def to_json(self) -> bytes:
        return orjson.dumps(self, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.to_json())

    @classmethod
    def read(cls, path: Path) -> GroundTruth:
        try:
            data = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as e:
            raise DevnetError(f"cannot read ground truth {path}: {e}") from e
        if data.get("format") != FORMAT:
            raise DevnetError(f"{path}: not a {FORMAT} document")
        truth = _decode(cls, data)
        assert isinstance(truth, GroundTruth)
        return truth

    @property
    def x402_payments(self) -> tuple[Payment, ...]:
        return tuple(p for p in self.payments if p.is_x402)


def _decode(tp: Any, value: Any) -> Any:
    """Rebuild dataclasses, tuples and dicts from parsed JSON, guided by type hints."""
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = get_type_hints(tp)
        return tp(**{f.name: _decode(hints[f.name], value[f.name])
                     for f in dataclasses.fields(tp)})
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        return _decode(next(a for a in get_args(tp) if a is not type(None)), value)
    if origin is tuple:
        return tuple(_decode(get_args(tp)[0], v) for v in value)
    if origin is dict:
        return {k: _decode(get_args(tp)[1], v) for k, v in value.items()}
    return value


def sum_raw(values: Sequence[str]) -> str:
    return str(sum(int(v) for v in values))
