"""Build the demand report from the og views and render it as a table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from .errors import OgIndexerError

Conn = asyncpg.Connection | PoolConnectionProxy

WINDOWS = ("7d", "30d", "all")
FORMATS = ("table", "csv", "json")
TOP_PAYERS = 10
TOP_MODELS = 10
TOP_TEES = 10  # TEE rows shown in the table; CSV and JSON carry all of them
RETENTION_WEEKS = 5  # week offsets shown in the table (0..4); CSV and JSON carry all of them
_SHARE = Decimal("0.000001")


class ReportError(OgIndexerError, ValueError):
    """An invalid window or format; the message says which values are allowed."""


@dataclass(frozen=True, slots=True)
class Anchors:
    """Latest indexed block time of each chain: every rolling window ends there."""

    payments_head_at: datetime | None
    inference_head_at: datetime | None


@dataclass(frozen=True, slots=True)
class ModelLine:
    model: str | None  # normalised name; None = inferences whose model is not on-chain
    attribution: str  # legacy_inference | settlement_metadata | unattributed
    inferences: int  # in the window
    payers: int | None  # all time; None where the chain names no payer
    listed: bool | None


@dataclass(frozen=True, slots=True)
class ModelsSection:
    listed_models: int
    used_models: int  # all time
    active_models: int  # with an attributed inference in the window
    listed_never_used: int
    used_not_listed: int
    active_share_30d: Decimal | None  # listed models active in 30d / listed models
    attributed_share: Decimal | None  # inferences naming a model / all inferences (all time)
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
class PaymentsSection:
    payments: int
    payers: int
    new_payers: int  # first payment ever inside the window
    returning_payers: int  # paid in the window and returning overall
    returning_share: Decimal | None
    revenue_opg: Decimal
    top_payers: tuple[PayerLine, ...]


@dataclass(frozen=True, slots=True)
class CohortLine:
    cohort_week: date
    cohort_size: int
    active_payers: tuple[int, ...]  # index = week offset
    retention: tuple[Decimal, ...]


@dataclass(frozen=True, slots=True)
class VerificationSection:
    settled_inferences: int
    verified_inferences: int
    verified_share: Decimal | None
    batch_inferences: int
    individual_inferences: int
    legacy_inferences: int
    legacy_path_inferences: int
    legacy_path_verified_inferences: int


@dataclass(frozen=True, slots=True)
class ConcentrationSection:
    payers: int
    revenue_opg: Decimal
    top1_share: Decimal | None
    top10_share: Decimal | None
    hhi: Decimal | None


@dataclass(frozen=True, slots=True)
class TeeLine:
    tee_id: str
    registry: str
    tee_type_name: str | None
    enabled: bool
    live: bool
    last_heartbeat_at: datetime | None
    heartbeats: int
    individual_settlements: int


@dataclass(frozen=True, slots=True)
class FleetSection:
    tees: int  # distinct TEE ids
    enabled: int
    live: int
    tee_lines: tuple[TeeLine, ...]


@dataclass(frozen=True, slots=True)
class Report:
    window: str
    anchors: Anchors
    models: ModelsSection
    payments: PaymentsSection
    retention: tuple[CohortLine, ...]
    verification: VerificationSection
    concentration: ConcentrationSection
    fleet: FleetSection
    caveats: tuple[str, ...]
    funding: FundingSection | None = None  # demand by funding class (issue #14)


def _share(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(_SHARE)


def _int(value: Any) -> int:
    return int(value or 0)


def _percent(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _caveats(anchors: Anchors, attributed: Decimal | None) -> tuple[str, ...]:
    if attributed is None:
        coverage = "No inference is indexed yet, so no model is attributed."
    else:
        coverage = (
            f"{_percent(1 - attributed)} of inferences have no known model (batch settlements, and "
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
        f"{_when(anchors.payments_head_at)}, OpenGradient {_when(anchors.inference_head_at)}.",
    )


def _short_time(value: datetime | None) -> str:
    return "never" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _when(value: datetime | None) -> str:
    return "(nothing indexed)" if value is None else value.isoformat()


async def _build(conn: Conn, window: str) -> Report:
    suffix = {"7d": "_7d", "30d": "_30d", "all": ""}[window]
    summary = await conn.fetchrow('select * from og.window_summary where "window" = $1', window)
    conc = await conn.fetchrow('select * from og.demand_concentration where "window" = $1', window)
    cat = await conn.fetchrow("select * from og.catalog_vs_usage")
    assert summary is not None and conc is not None and cat is not None  # views return rows
    anchors = Anchors(summary["payments_head_at"], summary["inference_head_at"])

    inferences_col = "inferences" + suffix
    model_rows = await conn.fetch(
        f"select model, attribution, {inferences_col} as n, payers, listed from og.model_usage"
        f" where {inferences_col} > 0 order by {inferences_col} desc, model nulls last,"
        f" attribution limit {TOP_MODELS}"
    )
    active_col = {"7d": "active_models_7d", "30d": "active_models_30d", "all": "used_models"}
    models = ModelsSection(
        listed_models=_int(cat["listed_models"]),
        used_models=_int(cat["used_models"]),
        active_models=_int(cat[active_col[window]]),
        listed_never_used=_int(cat["listed_never_used"]),
        used_not_listed=_int(cat["used_not_listed"]),
        active_share_30d=_share(cat["active_share_30d"]),
        attributed_share=_share(cat["attributed_share"]),
        top=tuple(
            ModelLine(r["model"], r["attribution"], _int(r["n"]), r["payers"], r["listed"])
            for r in model_rows
        ),
    )

    revenue = Decimal(summary["revenue_opg"])
    payments_col, opg_col = "payments" + suffix, "total_opg" + suffix
    payer_rows = await conn.fetch(
        f'select payer, {payments_col} as n, {opg_col} as opg, active_days, "returning"'
        f" from og.payer_stats where {payments_col} > 0"
        f" order by {opg_col} desc, payer limit {TOP_PAYERS}"
    )
    payers = _int(summary["payers"])
    returning = _int(summary["returning_payers"])
    payments = PaymentsSection(
        payments=_int(summary["payments"]),
        payers=payers,
        new_payers=_int(summary["new_payers"]),
        returning_payers=returning,
        returning_share=_share(Decimal(returning) / payers) if payers else None,
        revenue_opg=revenue,
        top_payers=tuple(
            PayerLine(
                payer=r["payer"],
                payments=_int(r["n"]),
                revenue_opg=Decimal(r["opg"]),
                share=_share(r["opg"] / revenue) if revenue else None,
                active_days=_int(r["active_days"]),
                returning=bool(r["returning"]),
            )
            for r in payer_rows
        ),
    )

    cohorts: dict[date, list[Any]] = {}
    for r in await conn.fetch("select * from og.payer_retention order by cohort_week, week_offset"):
        line = cohorts.setdefault(r["cohort_week"], [_int(r["cohort_size"]), [], []])
        line[1].append(_int(r["active_payers"]))
        line[2].append(_share(r["retention"]))
    retention = tuple(
        CohortLine(week, size, tuple(active), tuple(shares))
        for week, (size, active, shares) in cohorts.items()
    )

    verification = VerificationSection(
        settled_inferences=_int(summary["settled_inferences"]),
        verified_inferences=_int(summary["verified_inferences"]),
        verified_share=_share(summary["verified_share"]),
        batch_inferences=_int(summary["batch_inferences"]),
        individual_inferences=_int(summary["individual_inferences"]),
        legacy_inferences=_int(summary["legacy_inferences"]),
        legacy_path_inferences=_int(summary["legacy_path_inferences"]),
        legacy_path_verified_inferences=_int(summary["legacy_path_verified_inferences"]),
    )
    concentration = ConcentrationSection(
        payers=_int(conc["payers"]),
        revenue_opg=Decimal(conc["revenue_opg"]),
        top1_share=_share(conc["top1_share"]),
        top10_share=_share(conc["top10_share"]),
        hhi=_share(conc["hhi"]),
    )

    tee_rows = await conn.fetch(
        "select tee_id, registry, tee_type_name, enabled, live, last_heartbeat_at, heartbeats,"
        " individual_settlements from og.tee_fleet order by live desc, tee_id, registry"
    )
    fleet = FleetSection(
        tees=len({r["tee_id"] for r in tee_rows}),
        enabled=len({r["tee_id"] for r in tee_rows if r["enabled"]}),
        live=len({r["tee_id"] for r in tee_rows if r["live"]}),
        tee_lines=tuple(
            TeeLine(
                tee_id=r["tee_id"],
                registry=r["registry"],
                tee_type_name=r["tee_type_name"],
                enabled=r["enabled"],
                live=r["live"],
                last_heartbeat_at=r["last_heartbeat_at"],
                heartbeats=_int(r["heartbeats"]),
                individual_settlements=_int(r["individual_settlements"]),
            )
            for r in tee_rows
        ),
    )
    funding = await funding_section(conn, window)
    return Report(
        window=window,
        anchors=anchors,
        models=models,
        payments=payments,
        retention=retention,
        verification=verification,
        concentration=concentration,
        fleet=fleet,
        caveats=_caveats(anchors, models.attributed_share) + funding_caveats(funding),
        funding=funding,
    )


async def build_report(conn: Conn, window: str) -> Report:
    """Read the demand report for one window ('7d', '30d' or 'all') from the og views, in one
    read-only snapshot when the connection is not already inside a transaction."""
    if window not in WINDOWS:
        raise ReportError(f"window {window!r} is not one of {', '.join(WINDOWS)}")
    if conn.is_in_transaction():
        return await _build(conn, window)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        # Sub-second views: JIT compilation would cost more than it saves.
        await conn.execute("set local jit = off")
        return await _build(conn, window)


# --- rendering ---------------------------------------------------------------------------------


def report_dict(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data (the shape render_json prints)."""

    def walk(value: Any, name: str = "") -> Any:
        if is_dataclass(value) and not isinstance(value, type):
            return {f.name: walk(getattr(value, f.name), f.name) for f in fields(value)}
        if isinstance(value, tuple | list):
            return [walk(v, name) for v in value]
        if isinstance(value, Decimal):
            return str(value) if name.endswith("_opg") else float(value)
        if isinstance(value, datetime | date):
            return value.isoformat()
        return value

    data = walk(report)
    assert isinstance(data, dict)
    return data


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2) + "\n"


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def csv_rows(report: Report) -> Iterator[tuple[str, str, str, str]]:
    """The report as long-format rows: (section, item, metric, value)."""

    def section(
        name: str, obj: Any, item: str = "", skip: tuple[str, ...] = ()
    ) -> Iterator[tuple[str, str, str, str]]:
        for f in fields(obj):
            if f.name not in skip:
                yield name, item, f.name, _csv_value(getattr(obj, f.name))

    yield "report", "", "window", report.window
    yield from section("report", report.anchors)
    yield from section("models", report.models, skip=("top",))
    for m in report.models.top:
        yield from section("top_models", m, item=f"{m.attribution}:{m.model or ''}")
    yield from section("payments", report.payments, skip=("top_payers",))
    for p in report.payments.top_payers:
        yield from section("top_payers", p, item=p.payer, skip=("payer",))
    for c in report.retention:
        week = c.cohort_week.isoformat()
        yield "retention", week, "cohort_size", str(c.cohort_size)
        for offset, (active, share) in enumerate(zip(c.active_payers, c.retention, strict=True)):
            yield "retention", week, f"week_{offset}_active_payers", str(active)
            yield "retention", week, f"week_{offset}_retention", _csv_value(share)
    yield from section("verification", report.verification)
    yield from section("concentration", report.concentration)
    yield from section("fleet", report.fleet, skip=("tee_lines",))
    for t in report.fleet.tee_lines:
        yield from section("tees", t, item=f"{t.registry}:{t.tee_id}", skip=("tee_id", "registry"))
    if report.funding is not None:
        yield from section("funding", report.funding, skip=("by_class",))
        for line in report.funding.by_class:
            yield from section("funding_classes", line, item=line.funding_class, skip=("funding_class",))
    for i, text in enumerate(report.caveats, start=1):
        yield "caveats", str(i), "text", text


def render_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "item", "metric", "value"))
    writer.writerows(csv_rows(report))
    return out.getvalue()


def _opg(value: Decimal) -> str:
    return f"{value:,.6f}".rstrip("0").rstrip(".") if value else "0"


def _kv_table(title: str, pairs: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE, show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for key, value in pairs:
        table.add_row(key, value)
    return table


def table_renderable(report: Report) -> RenderableType:
    """The report as rich renderables, for a Console to print."""
    w = report.window
    m, p, v = report.models, report.payments, report.verification
    c, f = report.concentration, report.fleet
    parts: list[RenderableType] = [
        Text(f"OpenGradient demand report - window {w}", style="bold"),
        Text(
            f"Base head {_when(report.anchors.payments_head_at)}; "
            f"OpenGradient head {_when(report.anchors.inference_head_at)}"
        ),
        _kv_table(
            "Models: used vs listed",
            [
                ("listed models", str(m.listed_models)),
                ("used models (named on-chain, all time)", str(m.used_models)),
                (f"active models ({w})", str(m.active_models)),
                ("listed, never used on-chain", str(m.listed_never_used)),
                ("used, not listed", str(m.used_not_listed)),
                ("catalog active in 30d", _percent(m.active_share_30d)),
                ("inferences attributable to a model", _percent(m.attributed_share)),
            ],
        ),
    ]
    top_models = Table(title=f"Top models ({w})", title_justify="left", box=box.SIMPLE)
    for col in ("model", "attribution", "inferences", "payers", "listed"):
        top_models.add_column(col, justify="right" if col in ("inferences", "payers") else "left")
    for model_line in m.top:
        top_models.add_row(
            model_line.model or "(no model on-chain)",
            model_line.attribution,
            f"{model_line.inferences:,}",
            "n/a" if model_line.payers is None else str(model_line.payers),
            "" if model_line.listed is None else ("yes" if model_line.listed else "no"),
        )
    parts.append(top_models)
    parts.append(
        _kv_table(
            f"Who pays ({w})",
            [
                ("payments (x402)", f"{p.payments:,}"),
                ("payers", f"{p.payers:,}"),
                ("new payers", f"{p.new_payers:,}"),
                ("returning payers (paid on >= 2 UTC days)", f"{p.returning_payers:,}"),
                ("returning share", _percent(p.returning_share)),
                ("revenue (OPG)", _opg(p.revenue_opg)),
            ],
        )
    )
    top_payers = Table(title=f"Top payers ({w})", title_justify="left", box=box.SIMPLE)
    top_payers.add_column("payer", no_wrap=True, min_width=42)
    for col in ("payments", "OPG", "share", "active days", "returning"):
        top_payers.add_column(col, justify="right")
    for line in p.top_payers:
        top_payers.add_row(
            line.payer,
            f"{line.payments:,}",
            _opg(line.revenue_opg),
            _percent(line.share),
            str(line.active_days),
            "yes" if line.returning else "no",
        )
    parts.append(top_payers)
    retention = Table(
        title="Who comes back: weekly payer retention (all time)",
        title_justify="left",
        box=box.SIMPLE,
    )
    retention.add_column("cohort week")
    retention.add_column("payers", justify="right")
    for offset in range(1, RETENTION_WEEKS):
        retention.add_column(f"week {offset}", justify="right")
    for cohort in report.retention[-8:]:
        cells = [
            _percent(cohort.retention[o]) if o < len(cohort.retention) else ""
            for o in range(1, RETENTION_WEEKS)
        ]
        retention.add_row(cohort.cohort_week.isoformat(), str(cohort.cohort_size), *cells)
    parts.append(retention)
    parts.append(
        _kv_table(
            f"How much is verified ({w})",
            [
                ("settled inferences (trusted relayers)", f"{v.settled_inferences:,}"),
                ("  in batches (Merkle root, not signature-checked)", f"{v.batch_inferences:,}"),
                ("  individually (TEE signature checked on-chain)", f"{v.individual_inferences:,}"),
                ("  legacy relay settlements", f"{v.legacy_inferences:,}"),
                ("verified on-chain", f"{v.verified_inferences:,}"),
                ("verified share", _percent(v.verified_share)),
                ("legacy-path inferences (alpha precompile)", f"{v.legacy_path_inferences:,}"),
                ("  of which TEE or ZKML mode", f"{v.legacy_path_verified_inferences:,}"),
            ],
        )
    )
    parts.append(
        _kv_table(
            f"How concentrated is demand ({w})",
            [
                ("payers", f"{c.payers:,}"),
                ("revenue (OPG)", _opg(c.revenue_opg)),
                ("top payer share", _percent(c.top1_share)),
                ("top 10 payers share", _percent(c.top10_share)),
                ("HHI (0-1)", "n/a" if c.hhi is None else f"{c.hhi:.4f}"),
            ],
        )
    )
    parts.append(
        _kv_table(
            "TEE fleet (now = latest OpenGradient block)",
            [
                ("TEEs registered", str(f.tees)),
                ("enabled", str(f.enabled)),
                ("live (enabled, heartbeat within 1800 s)", str(f.live)),
            ],
        )
    )
    if f.tee_lines:
        tees = Table(
            title=f"TEEs (first {TOP_TEES}, not live first)", title_justify="left", box=box.SIMPLE
        )
        tees.add_column("TEE id", no_wrap=True, overflow="ellipsis", max_width=24)
        for col in ("type", "enabled", "live", "last heartbeat", "individual settlements"):
            tees.add_column(col, justify="left" if col == "last heartbeat" else "right")
        for tee in sorted(f.tee_lines, key=lambda t: (t.live, t.tee_id))[:TOP_TEES]:
            tees.add_row(
                tee.tee_id,
                tee.tee_type_name or "",
                "yes" if tee.enabled else "no",
                "yes" if tee.live else "no",
                _short_time(tee.last_heartbeat_at),
                f"{tee.individual_settlements:,}",
            )
        parts.append(tees)
    if report.funding is not None:
        parts.extend(funding_renderables(report.funding, w))
    parts.append(Text("Caveats", style="bold"))
    parts.extend(Text(f"- {text}") for text in report.caveats)
    return Group(*parts)


def render_table(report: Report, width: int = 100) -> str:
    """The table rendering as plain text (no colour codes)."""
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, force_terminal=False).print(
        table_renderable(report)
    )
    return out.getvalue()


def render(report: Report, fmt: str) -> str:
    """Render as 'table', 'csv' or 'json'."""
    if fmt == "table":
        return render_table(report)
    if fmt == "csv":
        return render_csv(report)
    if fmt == "json":
        return render_json(report)
    raise ReportError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")


# --- Walrus payloads: models with tokens, proof availability (table format only) -----------------


@dataclass(frozen=True, slots=True)
class PayloadModelLine:
    model: str
    inferences: int  # in the window
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None


@dataclass(frozen=True, slots=True)
class ProofLine:
    kind: str  # batch | individual
    settlements: int
    blobs_fetched: int
    missing: int
    consistent: int
    mismatched: int
    unparseable: int
    unavailable: int
    not_fetched: int
    share: Decimal | None  # retrievable and consistent / settlements


@dataclass(frozen=True, slots=True)
class WalrusSection:
    """What the stored Walrus payloads add: per-model usage with tokens, and proof availability, in
    the report's window (proofs: settlements of the window's UTC days)."""

    window: str
    models: tuple[PayloadModelLine, ...]
    proofs: tuple[ProofLine, ...]


async def walrus_section(conn: Conn, window: str) -> WalrusSection:
    if window not in WINDOWS:
        raise ReportError(f"window {window!r} is not one of {', '.join(WINDOWS)}")
    suffix = {"7d": "_7d", "30d": "_30d", "all": ""}[window]
    rows = await conn.fetch(
        f"select model, inferences{suffix} as n, prompt_tokens{suffix} as p, completion_tokens{suffix} as c,"
        f" total_tokens{suffix} as t from og.model_usage where attribution = 'walrus_payload'"
        f" and inferences{suffix} > 0 order by n desc, model limit {TOP_MODELS}"
    )
    def opt(value: Any) -> int | None:
        return None if value is None else int(value)

    models = tuple(PayloadModelLine(r["model"], _int(r["n"]), opt(r["p"]), opt(r["c"]), opt(r["t"])) for r in rows)
    since = await conn.fetchval(
        "select (inference_from at time zone 'UTC')::date from og.windows where \"window\" = $1", window
    )
    proofs = await conn.fetch(
        "select kind, sum(settlements) as settlements, sum(blobs_fetched) as blobs_fetched, sum(missing) as missing,"
        " sum(consistent) as consistent, sum(mismatched) as mismatched, sum(unparseable) as unparseable,"
        " sum(unavailable) as unavailable, sum(not_fetched) as not_fetched from og.proof_availability"
        " where $1::date is null or day > $1::date group by kind order by kind",
        None if window == "all" else since,
    )
    return WalrusSection(
        window=window,
        models=models,
        proofs=tuple(
            ProofLine(
                kind=r["kind"], settlements=_int(r["settlements"]), blobs_fetched=_int(r["blobs_fetched"]),
                missing=_int(r["missing"]), consistent=_int(r["consistent"]), mismatched=_int(r["mismatched"]),
                unparseable=_int(r["unparseable"]), unavailable=_int(r["unavailable"]),
                not_fetched=_int(r["not_fetched"]),
                share=_share(Decimal(r["consistent"]) / r["settlements"]) if r["settlements"] else None,
            )
            for r in proofs
        ),
    )


# --- demand by funding class (issue #14): where the payers' OPG came from ---------------------

FUNDING_CLASSES = ("insider", "market", "bridge_or_mint", "contract", "eoa", "unknown")


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


async def funding_section(conn: Conn, window: str) -> FundingSection:
    """Payers, payments and revenue of the window by the payers' funding class (og.payer_stats,
    og.payer_funding), organic returning payers, and the recycled share."""
    suffix = {"7d": "_7d", "30d": "_30d", "all": ""}[window]
    n, opg = "payments" + suffix, "total_opg" + suffix
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


def _tokens(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def render_walrus_table(section: WalrusSection, width: int = 100) -> str:
    """The section as plain text, printed after the table report."""
    models = Table(title=f"Models named by Walrus payloads ({section.window}; individual settlements, no payer)",
                   title_justify="left", box=box.SIMPLE)
    for name in ("model", "inferences", "prompt tokens", "completion tokens", "total tokens"):
        models.add_column(name, justify="left" if name == "model" else "right")
    for m in section.models:
        models.add_row(m.model, f"{m.inferences:,}", _tokens(m.prompt_tokens), _tokens(m.completion_tokens),
                       _tokens(m.total_tokens))
    proofs = Table(title=f"Proof availability ({section.window}; trusted settlements; Walrus payloads)",
                   title_justify="left", box=box.SIMPLE)
    proofs.add_column("")
    for p in section.proofs:
        proofs.add_column(p.kind, justify="right")
    for label, attr in (("settlements", "settlements"), ("payload fetched", "blobs_fetched"),
                        ("consistent", "consistent"), ("mismatched (root, count or TEE)", "mismatched"),
                        ("unparseable", "unparseable"), ("missing (404: expired or never stored)", "missing"),
                        ("refused (403 too large, 451 blocked)", "unavailable"),
                        ("not fetched yet", "not_fetched")):
        proofs.add_row(label, *(f"{getattr(p, attr):,}" for p in section.proofs))
    proofs.add_row("retrievable and consistent", *(_percent(p.share) for p in section.proofs))
    parts: list[RenderableType] = [models if section.models else Text("No Walrus payload names a model yet "
                                                                       "(run `og-indexer enrich`)."), proofs]
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, force_terminal=False).print(Group(*parts))
    return out.getvalue()


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


def funding_renderables(f: FundingSection, w: str) -> list[RenderableType]:
    """The funding part of the table rendering."""
    table = Table(title=f"Where the payers' OPG came from ({w})", title_justify="left", box=box.SIMPLE)
    table.add_column("funding class")
    for col in ("payers", "payments", "OPG", "share"):
        table.add_column(col, justify="right")
    for line in f.by_class:
        table.add_row(
            line.funding_class, f"{line.payers:,}", f"{line.payments:,}", _opg(line.revenue_opg), _percent(line.share)
        )
    summary = _kv_table(
        f"Real demand vs recycled money ({w})",
        [
            ("organic payers (class not insider)", f"{f.organic_payers:,}"),
            ("organic returning payers (paid on >= 2 UTC days)", f"{f.organic_returning_payers:,}"),
            ("organic share of revenue", _percent(f.organic_share)),
            ("recycled payments (payee money back)", f"{f.recycled_payments:,}"),
            ("recycled share of revenue", _percent(f.recycled_share)),
        ],
    )
    return [table, summary]
