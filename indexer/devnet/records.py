"""Ground-truth record types: one frozen dataclass per kind of on-chain fact the simulator made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


def iso(ts: int) -> str:
    """UTC ISO-8601 with a Z suffix, seconds precision: `2026-05-04T00:01:00Z`."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


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


@dataclass(frozen=True)
class Anomaly:
    """A log at a watched address that must be kept raw: unknown_topic | decode_error."""

    chain: str
    time: str
    block: int
    address: str
    kind: str
    topic0: str


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


@dataclass(frozen=True)
class TeeToggle:
    time: str
    block: int
    tee_id: str
    enabled: bool


@dataclass(frozen=True)
class Heartbeat:
    time: str
    block: int
    tee_id: str
    timestamp: int


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
