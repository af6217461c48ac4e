"""The og views' columns, declared once with their Postgres types: what a row of each view is.

The SQL in sql/views/ defines the views; these declarations give them typed read models
(indexer.models) and hold the documented columns in one place. tests/integration/test_tables.py
proves them equal to the built views (names, types, order). Postgres does not record whether a
view's column can be NULL, so every column outside a view's grain (KEY) is declared nullable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .tables import (
    Bool,
    Date,
    InferenceRow,
    Int2,
    Int4,
    Int8,
    Interval,
    Numeric,
    PaymentRow,
    Row,
    SettlementRow,
    Text,
    Timestamptz,
    Uint256,
)

# --- Internal views: one shared definition each, read by the public views -------------------------
# Each is one table's rows (x402 payments, trusted settlements: under one filter) with every column
# (the table's own declaration, not a copy) and the derived flag the public views count.


@dataclass(slots=True)
class X402PaymentsView(PaymentRow):
    """Internal: og.payments rows that are x402 payments (is_x402), every column."""

    TABLE: ClassVar[str] = "x402_payments"


@dataclass(slots=True)
class TrustedSettlementsView(SettlementRow):
    """Internal: og.settlements rows sent by a configured relayer (trusted), every column."""

    TABLE: ClassVar[str] = "trusted_settlements"
    verified: Bool | None  # individual, its TEE signature checked on-chain


@dataclass(slots=True)
class LegacyPathInferencesView(InferenceRow):
    """Internal: og.inferences rows (the legacy precompile/hub/workflow path), every column."""

    TABLE: ClassVar[str] = "legacy_path_inferences"
    verified: Bool | None  # run in TEE or ZKML mode


# --- Public views ----------------------------------------------------------------------------------


@dataclass(slots=True)
class ChainHeadsView(Row):
    """One row per indexed chain: its latest indexed block."""

    TABLE: ClassVar[str] = "chain_heads"
    KEY: ClassVar[tuple[str, ...]] = ("chain_id",)
    chain_id: Int4
    head_block: Int8 | None
    head_time: Timestamptz | None
    payments_chain: Bool | None
    inference_chain: Bool | None


@dataclass(slots=True)
class WindowsView(Row):
    """One row per window (7d, 30d, all), anchored at each chain's latest indexed block time."""

    TABLE: ClassVar[str] = "windows"
    KEY: ClassVar[tuple[str, ...]] = ("window",)
    ord: Int4 | None
    window: Text
    span: Interval | None
    payments_head_at: Timestamptz | None
    payments_from: Timestamptz | None
    inference_head_at: Timestamptz | None
    inference_from: Timestamptz | None


@dataclass(slots=True)
class ModelInferencesView(Row):
    """One row per on-chain record that names (or could name) a model, with its attribution."""

    TABLE: ClassVar[str] = "model_inferences"
    KEY: ClassVar[tuple[str, ...]] = ("chain_id", "block_number", "log_index")
    chain_id: Int4
    block_number: Int8
    log_index: Int4
    tx_hash: Text | None
    block_time: Timestamptz | None
    record: Text | None
    source: Text | None
    model: Text | None
    model_raw: Text | None
    attribution: Text | None
    payer: Text | None
    inferences: Numeric | None
    mode_name: Text | None
    prompt_tokens: Int8 | None  # walrus_payload rows: the payload's usage
    completion_tokens: Int8 | None
    total_tokens: Int8 | None


@dataclass(slots=True)
class SettlementProofsView(Row):
    """One row per trusted batch or individual settlement: its blob's fetch and proof status (internal)."""

    TABLE: ClassVar[str] = "settlement_proofs"
    KEY: ClassVar[tuple[str, ...]] = ("chain_id", "block_number", "log_index")
    chain_id: Int4
    block_number: Int8
    log_index: Int4
    block_time: Timestamptz | None
    day: Date | None
    kind: Text | None
    blob_id: Text | None
    blob_status: Text | None
    proof_status: Text | None


@dataclass(slots=True)
class DailyActivityView(Row):
    """One row per UTC day with any activity."""

    TABLE: ClassVar[str] = "daily_activity"
    KEY: ClassVar[tuple[str, ...]] = ("day",)
    day: Date
    settled_inferences: Numeric | None
    verified_inferences: Int8 | None
    batches: Int8 | None
    individual_settlements: Int8 | None
    payments: Int8 | None
    payers: Int8 | None
    new_payers: Int8 | None
    returning_payers: Int8 | None
    revenue_opg: Numeric | None
    heartbeating_tees: Int8 | None
    legacy_path_inferences: Int8 | None


@dataclass(slots=True)
class PayerStatsView(Row):
    """One row per payer."""

    TABLE: ClassVar[str] = "payer_stats"
    KEY: ClassVar[tuple[str, ...]] = ("payer",)
    payer: Text
    first_payment_at: Timestamptz | None
    last_payment_at: Timestamptz | None
    payments: Int8 | None
    active_days: Int8 | None
    total_opg: Numeric | None
    returning: Bool | None
    payments_7d: Int8 | None
    total_opg_7d: Numeric | None
    payments_30d: Int8 | None
    total_opg_30d: Numeric | None
    funding_class: Text | None  # og.payer_funding's class (insider, market, bridge_or_mint, ...)


@dataclass(slots=True)
class PayerRetentionView(Row):
    """One row per (cohort week, week offset)."""

    TABLE: ClassVar[str] = "payer_retention"
    KEY: ClassVar[tuple[str, ...]] = ("cohort_week", "week_offset")
    cohort_week: Date
    week_offset: Int4
    cohort_size: Int8 | None
    active_payers: Int8 | None
    retention: Numeric | None


@dataclass(slots=True)
class ModelUsageView(Row):
    """One row per (model, attribution); model is NULL on the unattributed row."""

    TABLE: ClassVar[str] = "model_usage"
    KEY: ClassVar[tuple[str, ...]] = ("model", "attribution")
    model: Text | None
    attribution: Text
    inferences: Numeric | None
    payers: Int8 | None
    first_seen_at: Timestamptz | None
    last_seen_at: Timestamptz | None
    inferences_7d: Numeric | None
    inferences_30d: Numeric | None
    listed: Bool | None
    prompt_tokens: Numeric | None  # walrus_payload rows only
    completion_tokens: Numeric | None
    total_tokens: Numeric | None
    prompt_tokens_7d: Numeric | None
    completion_tokens_7d: Numeric | None
    total_tokens_7d: Numeric | None
    prompt_tokens_30d: Numeric | None
    completion_tokens_30d: Numeric | None
    total_tokens_30d: Numeric | None


@dataclass(slots=True)
class ReturningPayersPerModelView(Row):
    """One row per (model, attribution)."""

    TABLE: ClassVar[str] = "returning_payers_per_model"
    KEY: ClassVar[tuple[str, ...]] = ("model", "attribution")
    model: Text | None
    attribution: Text
    inferences: Numeric | None
    payers: Int8 | None
    returning_payers: Int8 | None
    returning_share: Numeric | None
    repeat_inferences: Numeric | None


@dataclass(slots=True)
class CatalogVsUsageView(Row):
    """Exactly one row: listed against used models (keyed by its counts, the view has no grain)."""

    TABLE: ClassVar[str] = "catalog_vs_usage"
    KEY: ClassVar[tuple[str, ...]] = ("listed_models", "used_models")
    listed_models: Int8
    used_models: Int8
    active_models_7d: Int8 | None
    active_models_30d: Int8 | None
    listed_never_used: Int8 | None
    used_not_listed: Int8 | None
    active_share_30d: Numeric | None
    attributed_share: Numeric | None


@dataclass(slots=True)
class TeeFleetView(Row):
    """One row per TEE per registry deployment."""

    TABLE: ClassVar[str] = "tee_fleet"
    KEY: ClassVar[tuple[str, ...]] = ("chain_id", "registry", "tee_id")
    tee_id: Text
    owner: Text | None
    tee_type: Int2 | None
    registered_at: Timestamptz | None
    enabled: Bool | None
    last_heartbeat_at: Timestamptz | None
    heartbeats: Int8 | None
    live: Bool | None
    individual_settlements: Int8 | None
    chain_id: Int4
    registry: Text
    tee_type_name: Text | None
    heartbeat_age_s: Int8 | None
    payment_address: Text | None
    endpoint: Text | None
    batch_items: Int8 | None  # batch payload leaves naming this TEE


@dataclass(slots=True)
class VerificationCoverageView(Row):
    """One row per UTC day with a trusted settlement or a legacy inference."""

    TABLE: ClassVar[str] = "verification_coverage"
    KEY: ClassVar[tuple[str, ...]] = ("day",)
    day: Date
    settled_inferences: Numeric | None
    verified_inferences: Int8 | None
    verified_share: Numeric | None
    batch_inferences: Numeric | None
    legacy_inferences: Numeric | None
    individual_inferences: Numeric | None
    legacy_path_inferences: Int8 | None
    legacy_path_verified_inferences: Int8 | None
    batch_settlements: Int8 | None
    batch_proofs_consistent: Int8 | None
    batch_proofs_consistent_share: Numeric | None


@dataclass(slots=True)
class DemandConcentrationView(Row):
    """One row per window (7d, 30d, all)."""

    TABLE: ClassVar[str] = "demand_concentration"
    KEY: ClassVar[tuple[str, ...]] = ("window",)
    window: Text
    payers: Int8 | None
    revenue_opg: Numeric | None
    top1_share: Numeric | None
    top10_share: Numeric | None
    hhi: Numeric | None


@dataclass(slots=True)
class WindowSummaryView(Row):
    """One row per window (7d, 30d, all): the report's headline figures."""

    TABLE: ClassVar[str] = "window_summary"
    KEY: ClassVar[tuple[str, ...]] = ("window",)
    window: Text
    payments_head_at: Timestamptz | None
    inference_head_at: Timestamptz | None
    payments: Int8 | None
    payers: Int8 | None
    new_payers: Int8 | None
    returning_payers: Int8 | None
    revenue_opg: Numeric | None
    settled_inferences: Numeric | None
    verified_inferences: Int8 | None
    verified_share: Numeric | None
    batch_inferences: Numeric | None
    individual_inferences: Numeric | None
    legacy_inferences: Numeric | None
    legacy_path_inferences: Int8 | None
    legacy_path_verified_inferences: Int8 | None


@dataclass(slots=True)
class ProofAvailabilityView(Row):
    """One row per UTC day and settlement kind: are the proofs retrievable and consistent?"""

    TABLE: ClassVar[str] = "proof_availability"
    KEY: ClassVar[tuple[str, ...]] = ("day", "kind")
    day: Date
    kind: Text
    settlements: Int8 | None
    blobs_fetched: Int8 | None
    missing: Int8 | None
    consistent: Int8 | None
    mismatched: Int8 | None
    unparseable: Int8 | None
    unavailable: Int8 | None
    not_fetched: Int8 | None
    retrievable_consistent_share: Numeric | None


@dataclass(slots=True)
class ModelTokensDailyView(Row):
    """One row per UTC day and model named by an individual settlement's payload."""

    TABLE: ClassVar[str] = "model_tokens_daily"
    KEY: ClassVar[tuple[str, ...]] = ("day", "model")
    day: Date
    model: Text
    inferences: Numeric | None
    with_usage: Int8 | None
    prompt_tokens: Numeric | None
    completion_tokens: Numeric | None
    total_tokens: Numeric | None


@dataclass(slots=True)
class FundingTransfersView(Row):
    """One row per traced funding transfer (hop 1 into a payer, hop 2 into an unlabelled funder)."""

    TABLE: ClassVar[str] = "funding_transfers"
    KEY: ClassVar[tuple[str, ...]] = ("chain_id", "payer", "hop", "block_number", "log_index")
    chain_id: Int4
    payer: Text
    hop: Int4
    funder: Text | None
    funded: Text | None
    block_number: Int8
    log_index: Int4
    block_time: Timestamptz | None
    tx_hash: Text | None
    amount_raw: Uint256 | None
    amount_opg: Numeric | None
    funder_class: Text | None
    code_size: Int4 | None
    code_block: Int8 | None


@dataclass(slots=True)
class PayerFundingView(Row):
    """One row per x402 payer: where its OPG came from before its first payment."""

    TABLE: ClassVar[str] = "payer_funding"
    KEY: ClassVar[tuple[str, ...]] = ("payer",)
    payer: Text
    first_payment_at: Timestamptz | None
    first_funder: Text | None
    first_funder_class: Text | None
    first_funded_at: Timestamptz | None
    first_funding_opg: Numeric | None
    funded_opg: Numeric | None
    funding_transfers: Int8 | None
    funding_class: Text | None
    class_hop: Int4 | None
    class_funder: Text | None
    recycled_at: Timestamptz | None
    recycled_block: Int8 | None
    recycled_log_index: Int4 | None
    recycled_payments: Int8 | None


@dataclass(slots=True)
class DemandQualityView(Row):
    """One row per UTC day with an x402 payment, split by the payers' funding class."""

    TABLE: ClassVar[str] = "demand_quality"
    KEY: ClassVar[tuple[str, ...]] = ("day",)
    day: Date
    payments: Int8 | None
    payers: Int8 | None
    revenue_opg: Numeric | None
    payments_insider: Int8 | None
    payers_insider: Int8 | None
    revenue_opg_insider: Numeric | None
    payments_market: Int8 | None
    payers_market: Int8 | None
    revenue_opg_market: Numeric | None
    payments_bridge_or_mint: Int8 | None
    payers_bridge_or_mint: Int8 | None
    revenue_opg_bridge_or_mint: Numeric | None
    payments_contract: Int8 | None
    payers_contract: Int8 | None
    revenue_opg_contract: Numeric | None
    payments_eoa: Int8 | None
    payers_eoa: Int8 | None
    revenue_opg_eoa: Numeric | None
    payments_unknown: Int8 | None
    payers_unknown: Int8 | None
    revenue_opg_unknown: Numeric | None
    organic_payments: Int8 | None
    organic_payers: Int8 | None
    organic_revenue_opg: Numeric | None
    recycled_payments: Int8 | None
    recycled_revenue_opg: Numeric | None
    recycled_share: Numeric | None


@dataclass(slots=True)
class PayerRetentionByFundingView(Row):
    """One row per (funding class, cohort week, week offset)."""

    TABLE: ClassVar[str] = "payer_retention_by_funding"
    KEY: ClassVar[tuple[str, ...]] = ("funding_class", "cohort_week", "week_offset")
    funding_class: Text
    cohort_week: Date
    week_offset: Int4
    cohort_size: Int8 | None
    active_payers: Int8 | None
    retention: Numeric | None


VIEWS: tuple[type[Row], ...] = (
    X402PaymentsView,
    TrustedSettlementsView,
    LegacyPathInferencesView,
    ChainHeadsView,
    WindowsView,
    ModelInferencesView,
    SettlementProofsView,
    DailyActivityView,
    PayerStatsView,
    PayerRetentionView,
    ModelUsageView,
    ReturningPayersPerModelView,
    CatalogVsUsageView,
    TeeFleetView,
    VerificationCoverageView,
    DemandConcentrationView,
    WindowSummaryView,
    ProofAvailabilityView,
    ModelTokensDailyView,
    FundingTransfersView,
    PayerFundingView,
    DemandQualityView,
    PayerRetentionByFundingView,
)
