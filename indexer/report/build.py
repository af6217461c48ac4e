"""Build the demand report: read the og views, through their typed read models, into typed values."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from ..errors import OgIndexerError
from ..models import MODELS, RENAMED_COLUMNS, from_record
from ..tables import Row, table_columns
from ..views import (
    CatalogVsUsageView,
    DemandConcentrationView,
    ProofAvailabilityView,
    TeeFleetView,
    WindowSummaryView,
)

Conn = asyncpg.Connection | PoolConnectionProxy

WINDOWS = ("7d", "30d", "all")
TOP_PAYERS = 10
TOP_MODELS = 10
FUNDING_CLASSES = ("insider", "market", "bridge_or_mint", "contract", "eoa", "unknown")
_SHARE = Decimal("0.000001")
_SUFFIX = {"7d": "_7d", "30d": "_30d", "all": ""}

R = TypeVar("R", bound=Row)


class ReportError(OgIndexerError, ValueError):
    """An invalid window or format; the message says which values are allowed."""


def is_ratio(column: str) -> bool:
    """Whether a report figure is a ratio (a share, the HHI, a retention): reported rounded to 6
    places. Every other numeric figure is an OPG amount (`*_opg`) or a count."""
    return "_share" in column or column in ("share", "hhi", "retention")


def read_view(view: type[R], record: asyncpg.Record | dict[str, Any]) -> R:
    """One row of a view, validated by its read model (indexer.models), as its typed declaration."""
    model = from_record(MODELS[view.TABLE], dict(record.items()))
    row = view(**{c: getattr(model, RENAMED_COLUMNS.get(c, c)) for c in view.columns()})
    for f in fields(row):  # ratios are reported to 6 places: round once, here
        value = getattr(row, f.name)
        if isinstance(value, Decimal) and is_ratio(f.name):
            setattr(row, f.name, _share(value))
    return row


def _counted(row: R) -> R:
    """A one-row aggregate with its NULL counts and amounts read as zero (an empty database)."""
    zeros: dict[str, Any] = {}
    for c in table_columns(type(row)):
        if getattr(row, c.name) is None and not is_ratio(c.name) and c.python in (int, Decimal):
            zeros[c.name] = c.python(0)
    return replace(row, **zeros)


@dataclass(frozen=True, slots=True)
class ModelLine:
    model: str | None  # normalised name; None = inferences whose model is not on-chain
    attribution: str  # legacy_inference | settlement_metadata | unattributed
    inferences: int  # in the window
    payers: int | None  # all time; None where the chain names no payer
    listed: bool | None


@dataclass(frozen=True, slots=True)
class ModelsSection:
    catalog: CatalogVsUsageView
    active_models: int  # with an attributed inference in the window (all: used models)
    top: tuple[ModelLine, ...]


@dataclass(frozen=True, slots=True)
class PayerLine:
    payer: str
    payments: int  # in the window
    revenue_opg: Decimal  # in the window
    share: Decimal | None  # of the window's revenue
    active_days: int  # all time
    returning: bool  # paid on >= 2 distinct UTC days (all time)


@dataclass(frozen=True, slots=True)
class CohortLine:
    cohort_week: date
    cohort_size: int
    active_payers: tuple[int, ...]  # index = week offset
    retention: tuple[Decimal, ...]


@dataclass(frozen=True, slots=True)
class FleetSection:
    tees: int  # distinct TEE ids
    enabled: int
    live: int
    tee_lines: tuple[TeeFleetView, ...]  # live first, then by TEE id and registry


@dataclass(frozen=True, slots=True)
class FundingLine:
    funding_class: str
    payers: int  # paid in the window
    payments: int
    revenue_opg: Decimal
    share: Decimal | None  # of the window's revenue


@dataclass(frozen=True, slots=True)
class FundingSection:
    organic_payers: int  # paid in the window, class not insider
    organic_returning_payers: int  # of those, paid on >= 2 UTC days (all time)
    organic_share: Decimal | None  # organic revenue / revenue in the window
    recycled_payments: int  # made after the payer received OPG straight from a payTo or facilitator
    recycled_revenue_opg: Decimal
    recycled_share: Decimal | None
    unclassified_funders: int  # funders whose code is not read yet (their payers show unknown)
    by_class: tuple[FundingLine, ...]


@dataclass(frozen=True, slots=True)
class PayloadModelLine:
    model: str
    inferences: int  # in the window
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None


@dataclass(frozen=True, slots=True)
class WalrusSection:
    """What the stored Walrus payloads add: per-model usage with tokens, and proof availability, in
    the report's window. proofs: og.proof_availability summed per kind over the settlements of the
    window's UTC days; its `day` is the first day summed."""

    window: str
    models: tuple[PayloadModelLine, ...]
    proofs: tuple[ProofAvailabilityView, ...]


@dataclass(frozen=True, slots=True)
class Report:
    window: str
    summary: WindowSummaryView  # the window's headline figures; its head times anchor the window
    models: ModelsSection
    returning_share: Decimal | None  # returning payers / payers in the window
    top_payers: tuple[PayerLine, ...]
    retention: tuple[CohortLine, ...]
    concentration: DemandConcentrationView
    fleet: FleetSection
    caveats: tuple[str, ...]
    funding: FundingSection | None = None  # demand by funding class (issue #14)
    walrus: WalrusSection | None = None  # models with tokens, proof availability (issue #13)


def _share(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(_SHARE)


def _int(value: Any) -> int:
    return int(value or 0)


def percent(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def when(value: datetime | None) -> str:
    return "(nothing indexed)" if value is None else value.isoformat()


def _caveats(summary: WindowSummaryView, attributed: Decimal | None) -> tuple[str, ...]:
    if attributed is None:
        coverage = "No inference is indexed yet, so no model is attributed."
    else:
        coverage = (
            f"{percent(1 - attributed)} of inferences have no known model (batch settlements, and "
            "individual ones without a stored, consistent Walrus payload); they are reported as "
            "'unattributed' and never spread over models."
        )
    return (
        "Attribution: per-model figures come only from records that name the model (legacy "
        "inference path: model and payer; legacy SettlementWithMetadata: model only; Walrus "
        "payloads of individual settlements: model and tokens, no payer). " + coverage,
        "No on-chain field links a Base payment to an OpenGradient settlement or to a model: "
        "revenue cannot be split per model or per inference, and private-mode inferences leave "
        "nothing on-chain.",
        "A payer is a wallet (often an application's relay wallet), not an end user.",
        "Counted: x402-settled OPG transfers to payTo (plain transfers are not payments) and "
        "settlements sent by trusted relayers.",
        "Rolling windows end at the latest indexed block, not now: Base "
        f"{when(summary.payments_head_at)}, OpenGradient {when(summary.inference_head_at)}.",
    )


def funding_caveats(section: FundingSection | None) -> tuple[str, ...]:
    out: tuple[str, ...] = (
        "Funding classes say where a payer's OPG came from before its first payment, traced at "
        "most two transfers back: 'organic' (any class but insider) does not prove an independent "
        "user. An insider funding through wallets more than two hops away, or through an exchange "
        "no configuration labels, looks organic; insiders are only the configured wallets plus the "
        "payTo and facilitator addresses seen in payments.",
        "Recycled: payments made after the payer received OPG straight from a payTo or facilitator "
        "address (payee money coming back); a loop through other wallets is not flagged.",
    )
    if section is not None and section.unclassified_funders:
        out += (
            f"{section.unclassified_funders} funder(s) not classified yet (eth_getCode not read): "
            "their payers count as 'unknown' until `og-indexer funding` runs.",
        )
    return out


async def _models(conn: Conn, window: str) -> ModelsSection:
    rec = await conn.fetchrow("select * from og.catalog_vs_usage")
    assert rec is not None  # the view returns one row
    catalog = _counted(read_view(CatalogVsUsageView, rec))
    active = {"7d": catalog.active_models_7d, "30d": catalog.active_models_30d, "all": catalog.used_models}
    n = "inferences" + _SUFFIX[window]
    rows = await conn.fetch(
        f"select model, attribution, {n} as n, payers, listed from og.model_usage"
        f" where {n} > 0 order by {n} desc, model nulls last, attribution limit {TOP_MODELS}"
    )
    top = tuple(ModelLine(r["model"], r["attribution"], _int(r["n"]), r["payers"], r["listed"]) for r in rows)
    return ModelsSection(catalog=catalog, active_models=_int(active[window]), top=top)


async def _top_payers(conn: Conn, window: str, revenue: Decimal) -> tuple[PayerLine, ...]:
    n, opg = "payments" + _SUFFIX[window], "total_opg" + _SUFFIX[window]
    rows = await conn.fetch(
        f'select payer, {n} as n, {opg} as opg, active_days, "returning" from og.payer_stats'
        f" where {n} > 0 order by {opg} desc, payer limit {TOP_PAYERS}"
    )
    return tuple(
        PayerLine(
            payer=r["payer"],
            payments=_int(r["n"]),
            revenue_opg=Decimal(r["opg"]),
            share=_share(r["opg"] / revenue) if revenue else None,
            active_days=_int(r["active_days"]),
            returning=bool(r["returning"]),
        )
        for r in rows
    )


async def _retention(conn: Conn) -> tuple[CohortLine, ...]:
    cohorts: dict[date, list[Any]] = {}
    for r in await conn.fetch("select * from og.payer_retention order by cohort_week, week_offset"):
        line = cohorts.setdefault(r["cohort_week"], [_int(r["cohort_size"]), [], []])
        line[1].append(_int(r["active_payers"]))
        line[2].append(_share(r["retention"]))
    return tuple(
        CohortLine(week, size, tuple(active), tuple(shares)) for week, (size, active, shares) in cohorts.items()
    )


async def _fleet(conn: Conn) -> FleetSection:
    rows = await conn.fetch("select * from og.tee_fleet order by live desc, tee_id, registry")
    tees = tuple(read_view(TeeFleetView, r) for r in rows)
    return FleetSection(
        tees=len({t.tee_id for t in tees}),
        enabled=len({t.tee_id for t in tees if t.enabled}),
        live=len({t.tee_id for t in tees if t.live}),
        tee_lines=tees,
    )


async def _build(conn: Conn, window: str) -> Report:
    rec = await conn.fetchrow('select * from og.window_summary where "window" = $1', window)
    conc = await conn.fetchrow('select * from og.demand_concentration where "window" = $1', window)
    assert rec is not None and conc is not None  # the views return one row per window
    summary = _counted(read_view(WindowSummaryView, rec))
    models = await _models(conn, window)
    revenue = summary.revenue_opg or Decimal(0)
    payers, returning = _int(summary.payers), _int(summary.returning_payers)
    funding = await funding_section(conn, window)
    return Report(
        window=window,
        summary=summary,
        models=models,
        returning_share=_share(Decimal(returning) / payers) if payers else None,
        top_payers=await _top_payers(conn, window, revenue),
        retention=await _retention(conn),
        concentration=_counted(read_view(DemandConcentrationView, conc)),
        fleet=await _fleet(conn),
        caveats=_caveats(summary, models.catalog.attributed_share) + funding_caveats(funding),
        funding=funding,
        walrus=await walrus_section(conn, window),
    )


def _check(window: str) -> None:
    if window not in WINDOWS:
        raise ReportError(f"window {window!r} is not one of {', '.join(WINDOWS)}")


async def build_report(conn: Conn, window: str) -> Report:
    """Read the demand report for one window ('7d', '30d' or 'all') from the og views, in one
    read-only snapshot when the connection is not already inside a transaction."""
    _check(window)
    if conn.is_in_transaction():
        return await _build(conn, window)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        # Sub-second views: JIT compilation would cost more than it saves.
        await conn.execute("set local jit = off")
        return await _build(conn, window)


async def walrus_section(conn: Conn, window: str) -> WalrusSection:
    """Models named by Walrus payloads with their tokens (og.model_usage) and proof availability
    per settlement kind (og.proof_availability) in the window."""
    _check(window)
    s = _SUFFIX[window]
    rows = await conn.fetch(
        f"select model, inferences{s} as n, prompt_tokens{s} as p, completion_tokens{s} as c,"
        f" total_tokens{s} as t from og.model_usage where attribution = 'walrus_payload'"
        f" and inferences{s} > 0 order by n desc, model limit {TOP_MODELS}"
    )

    def opt(value: Any) -> int | None:
        return None if value is None else int(value)

    models = tuple(PayloadModelLine(r["model"], _int(r["n"]), opt(r["p"]), opt(r["c"]), opt(r["t"])) for r in rows)
    since = await conn.fetchval(
        "select (inference_from at time zone 'UTC')::date from og.windows where \"window\" = $1", window
    )
    counts = [c for c in ProofAvailabilityView.columns() if c not in ProofAvailabilityView.KEY and not is_ratio(c)]
    proofs = await conn.fetch(
        f"select min(day) as day, kind, {', '.join(f'sum({c})::bigint as {c}' for c in counts)}"
        " from og.proof_availability where $1::date is null or day > $1::date group by kind order by kind",
        None if window == "all" else since,
    )
    lines = []
    for r in proofs:
        line = read_view(ProofAvailabilityView, {**r, "retrievable_consistent_share": None})
        if line.settlements:
            line.retrievable_consistent_share = _share(Decimal(line.consistent or 0) / line.settlements)
        lines.append(line)
    return WalrusSection(window=window, models=models, proofs=tuple(lines))


async def funding_section(conn: Conn, window: str) -> FundingSection:
    """Payers, payments and revenue of the window by the payers' funding class (og.payer_stats,
    og.payer_funding), organic returning payers, and the recycled share."""
    n, opg = "payments" + _SUFFIX[window], "total_opg" + _SUFFIX[window]
    recs = await conn.fetch(
        f"select coalesce(funding_class, 'unknown') as c, count(*) as payers, sum({n}) as payments,"
        f' sum({opg}) as opg, count(*) filter (where "returning") as returning'
        f" from og.payer_stats where {n} > 0 group by 1"
    )
    by = {r["c"]: r for r in recs}
    revenue = sum((Decimal(r["opg"]) for r in recs), Decimal(0))
    organic = [r for c, r in by.items() if c != "insider"]
    organic_opg = sum((Decimal(r["opg"]) for r in organic), Decimal(0))
    recycled = await conn.fetchrow(
        "select count(*) as n, coalesce(sum(p.amount_opg), 0) as opg from og.payments p"
        " join og.payer_funding f on f.payer = p.payer"
        " where p.is_x402 and f.recycled_block is not null"
        " and (p.block_number, p.log_index) > (f.recycled_block, f.recycled_log_index)"
        ' and p.block_time > (select w.payments_from from og.windows w where w."window" = $1)',
        window,
    )
    assert recycled is not None
    unclassified = await conn.fetchval(
        "select count(distinct funder) from og.funding_transfers where funder_class = 'unknown'"
    )
    return FundingSection(
        organic_payers=sum(_int(r["payers"]) for r in organic),
        organic_returning_payers=sum(_int(r["returning"]) for r in organic),
        organic_share=_share(organic_opg / revenue) if revenue else None,
        recycled_payments=_int(recycled["n"]),
        recycled_revenue_opg=Decimal(recycled["opg"]),
        recycled_share=_share(Decimal(recycled["opg"]) / revenue) if revenue else None,
        unclassified_funders=_int(unclassified),
        by_class=tuple(
            FundingLine(
                funding_class=c,
                payers=_int(by[c]["payers"]) if c in by else 0,
                payments=_int(by[c]["payments"]) if c in by else 0,
                revenue_opg=Decimal(by[c]["opg"]) if c in by else Decimal(0),
                share=_share(Decimal(by[c]["opg"]) / revenue) if c in by and revenue else None,
            )
            for c in FUNDING_CLASSES
        ),
    )
