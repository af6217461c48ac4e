"""Render the demand report as one self-contained HTML page: the report's tables plus charts drawn
as inline SVG (Vega-Lite specs built with altair, rendered offline by vl-convert; no script, no CDN)."""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from rich.console import Console

from .report import Conn, Report, build_report, table_renderable
from .report.build import read_view
from .views import DailyActivityView, ProofAvailabilityView, TeeFleetView

CHART_WIDTH = 600
# og.proof_availability's counts per settlement, as drawn: every settlement falls in exactly one.
PROOF_COUNTS = ("consistent", "mismatched", "unparseable", "missing", "unavailable", "not_fetched")


@dataclass(frozen=True, slots=True)
class Chart:
    """One figure of the page: an SVG, or a note saying why there is nothing to draw."""

    key: str  # the Vega-Lite name of its marks: the SVG's mark groups carry class '<key>_*_marks'
    question: str
    svg: str | None
    note: str  # units, window and caveats shown under the chart


@dataclass(frozen=True, slots=True)
class ChartData:
    """Series the charts need beyond the report's figures, read from the public views."""

    daily: tuple[DailyActivityView, ...]  # og.daily_activity rows inside the window
    payer_revenue: tuple[Decimal, ...]  # og.payer_stats: each paying payer's revenue in the window
    tees: tuple[TeeFleetView, ...]  # the report's og.tee_fleet rows, by registration time
    proof: tuple[ProofAvailabilityView, ...]  # og.proof_availability


def describe_database(dsn: str) -> str:
    """Host and database name of a Postgres URL, never its user or password."""
    parts = urlsplit(dsn)
    host = parts.hostname or (parse_qs(parts.query).get("host") or ["localhost"])[0]
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{host}/{parts.path.lstrip('/') or '(default database)'}"


async def read_chart_data(conn: Conn, report: Report) -> ChartData:
    suffix = {"7d": "_7d", "30d": "_30d", "all": ""}[report.window]
    daily = await conn.fetch(
        "select * from og.daily_activity"
        " where day >= (select least(payments_from, inference_from) from og.windows where \"window\" = $1)::date"
        " order by day",
        report.window,
    )
    revenue = await conn.fetch(
        f"select total_opg{suffix} as opg from og.payer_stats where payments{suffix} > 0 order by opg, payer"
    )
    proof = await conn.fetch("select * from og.proof_availability order by day, kind")
    registered = [t for t in report.fleet.tee_lines if t.registered_at is not None]
    return ChartData(
        daily=tuple(read_view(DailyActivityView, r) for r in daily),
        payer_revenue=tuple(Decimal(r["opg"]) for r in revenue),
        tees=tuple(sorted(registered, key=lambda t: (t.registered_at, t.tee_id, t.registry))),
        proof=tuple(read_view(ProofAvailabilityView, r) for r in proof),
    )


async def build_html_report(conn: Conn, window: str, database: str, generated_at: datetime) -> str:
    """The page for one window, read in one read-only snapshot (the report's and the charts' rows
    agree). database is shown as given: pass describe_database(dsn)."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute("set local jit = off")
        report = await build_report(conn, window)
        data = await read_chart_data(conn, report)
    return render_html(report, data, database, generated_at)


# --- charts ------------------------------------------------------------------------------------


def _svg(chart: Any) -> str:
    import vl_convert

    svg = vl_convert.vegalite_to_svg(chart.to_dict())
    assert isinstance(svg, str)
    return svg


def _data(rows: list[dict[str, Any]]) -> Any:
    import altair as alt

    return alt.Data(values=rows)  # type: ignore[no-untyped-call]


def _title(question: str, subtitle: Sequence[str]) -> Any:
    import altair as alt

    return alt.TitleParams(question, subtitle=list(subtitle), anchor="start", fontSize=15)


def _window_text(report: Report, data: ChartData) -> str:
    if not data.daily:
        return f"window {report.window}: no day with activity"
    first, last = data.daily[0].day, data.daily[-1].day
    return f"window {report.window}: UTC days {first.isoformat()} to {last.isoformat()}"


def _day(value: date) -> str:
    return value.isoformat()


def daily_charts(report: Report, data: ChartData) -> list[Chart]:
    import altair as alt

    span = _window_text(report, data)
    if not data.daily:
        return [Chart(k, q, None, f"Nothing to draw for '{q}': {span}.") for k, q in (
            ("daily_payments", "Is usage growing? x402 payments per day"),
            ("daily_payers", "Are payers new or returning? Payers per day"),
            ("daily_revenue", "Is revenue growing? OPG paid per day"),
            ("daily_inferences", "Is verified inference growing? Settled and verified inferences per day"),
        )]
    x = alt.X("day:T", timeUnit="utcyearmonthdate", title="UTC day", axis=alt.Axis(format="%b %d"))
    base_rows = [
        {"day": _day(r.day), "payments": int(r.payments or 0), "revenue_opg": float(r.revenue_opg or 0)}
        for r in data.daily
    ]

    def bars(key: str, field: str, title: str, question: str, unit: str) -> Chart:
        chart = (
            alt.Chart(_data(base_rows), name=key)
            .mark_bar(color="#4c78a8")
            .encode(x=x, y=alt.Y(f"{field}:Q", title=unit))
            .properties(width=CHART_WIDTH, height=180, title=_title(question, [span, title]))
        )
        return Chart(key, question, _svg(chart), title)

    payers_rows = [
        {"day": _day(r.day), "kind": kind, "payers": int(n or 0)}
        for r in data.daily
        for kind, n in (("new", r.new_payers), ("returning", r.returning_payers))
    ]
    payers = (
        alt.Chart(_data(payers_rows), name="daily_payers")
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("payers:Q", title="payers (wallets)", stack="zero"),
            color=alt.Color("kind:N", title="payer", scale=alt.Scale(range=["#f58518", "#4c78a8"])),
        )
        .properties(
            width=CHART_WIDTH,
            height=180,
            title=_title("Do payers come back? New vs returning payers per day", [span]),
        )
    )
    inference_rows = [
        {"day": _day(r.day), "series": series, "inferences": int(n or 0)}
        for r in data.daily
        for series, n in (("settled", r.settled_inferences), ("verified on-chain", r.verified_inferences))
    ]
    inference_base = alt.Chart(_data(inference_rows)).encode(
        x=x,
        y=alt.Y("inferences:Q", title="inferences"),
        color=alt.Color("series:N", title="inferences", scale=alt.Scale(range=["#4c78a8", "#54a24b"])),
    )
    inferences = alt.layer(
        inference_base.mark_line().properties(name="daily_inferences_line"),
        inference_base.mark_point(filled=True).properties(name="daily_inferences_points"),
    ).properties(
        width=CHART_WIDTH,
        height=180,
        title=_title("Is verified inference growing? Settled and verified inferences per day", [span]),
    )
    return [
        bars("daily_payments", "payments", "x402 payments (plain OPG transfers are not payments)",
             "Is usage growing? x402 payments per day", "payments"),
        Chart("daily_payers", "Do payers come back?", _svg(payers),
              "New = first payment ever that day; returning = paid that day after an earlier day. "
              "A payer is a wallet, often an application's relay wallet, not an end user."),
        bars("daily_revenue", "revenue_opg", "OPG paid in x402 payments; revenue cannot be split per model",
             "Is revenue growing? OPG paid per day", "OPG"),
        Chart("daily_inferences", "Is verified inference growing?", _svg(inferences),
              "Settled = inferences in trusted settlements (a batch counts its size); verified = individual "
              "settlements whose TEE signature was checked on-chain. Private-mode inferences leave nothing "
              "on-chain."),
    ]


def retention_chart(report: Report) -> Chart:
    import altair as alt

    question = "Do cohorts come back? Weekly payer retention"
    note = ("Cohort = ISO week (Monday, UTC) of a payer's first x402 payment; cell = share of the cohort "
            "paying again that many weeks later. The latest week is partial. All time.")
    cells = [
        {"cohort": c.cohort_week.isoformat(), "week": offset, "retention": float(share),
         "active_payers": c.active_payers[offset], "cohort_size": c.cohort_size}
        for c in report.retention
        for offset, share in enumerate(c.retention)
    ]
    if not cells:
        return Chart("retention", question, None, "Nothing to draw: no x402 payment is indexed. " + note)
    base = alt.Chart(_data(cells)).encode(
        x=alt.X("week:O", title="weeks after the first payment", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("cohort:O", title="cohort week"),
    )
    chart = alt.layer(
        base.mark_rect()
        .encode(
            color=alt.Color("retention:Q", title="retention (share)", scale=alt.Scale(domain=[0, 1], scheme="blues")),
            tooltip=["cohort:O", "week:O", "cohort_size:Q", "active_payers:Q",
                     alt.Tooltip("retention:Q", format=".1%")],
        )
        .properties(name="retention"),
        base.mark_text(fontSize=11)
        .encode(
            text=alt.Text("retention:Q", format=".0%"),
            color=alt.condition("datum.retention > 0.5", alt.value("white"), alt.value("#222")),
        )
        .properties(name="retention_labels"),
    ).properties(
        width=alt.Step(56), height=alt.Step(26), title=_title(question, ["all time, cohorts by UTC ISO week"])
    )
    return Chart("retention", question, _svg(chart), note)


def concentration_chart(report: Report, data: ChartData) -> Chart:
    import altair as alt

    c = report.concentration
    question = "How concentrated is revenue? Lorenz curve of payer revenue"
    hhi = "n/a" if c.hhi is None else f"{c.hhi:.4f}"
    top1 = "n/a" if c.top1_share is None else f"{c.top1_share * 100:.1f}%"
    top10 = "n/a" if c.top10_share is None else f"{c.top10_share * 100:.1f}%"
    note = (f"HHI {hhi} (0-1 scale; 1 = one payer), top payer {top1}, top 10 payers {top10}, "
            f"{c.payers} payers, window {report.window}. A payer is a wallet: one application relaying for "
            "many users is one payer.")
    total = sum(data.payer_revenue, Decimal(0))
    if not data.payer_revenue or total == 0:
        return Chart("lorenz", question, None, f"Nothing to draw: no revenue in window {report.window}. " + note)
    points = [{"payers_share": 0.0, "revenue_share": 0.0}]
    running = Decimal(0)
    n = len(data.payer_revenue)
    for i, amount in enumerate(data.payer_revenue, start=1):  # ascending: the curve bows below the diagonal
        running += amount
        points.append({"payers_share": i / n, "revenue_share": float(running / total)})
    x = alt.X("payers_share:Q", title="share of payers, smallest first", axis=alt.Axis(format="%", tickCount=5))
    y = alt.Y("revenue_share:Q", title="cumulative share of revenue (OPG)", axis=alt.Axis(format="%"))
    curve = alt.Chart(_data(points)).encode(x=x, y=y)
    equality = alt.Chart(_data([{"payers_share": 0.0, "revenue_share": 0.0},
                                          {"payers_share": 1.0, "revenue_share": 1.0}])).encode(x=x, y=y)
    chart = alt.layer(
        equality.mark_line(color="#bbbbbb", strokeDash=[4, 4]).properties(name="lorenz_equality"),
        curve.mark_line(color="#e45756").properties(name="lorenz_curve"),
        curve.mark_point(color="#e45756", filled=True, size=14).properties(name="lorenz_points"),
    ).properties(
        width=360, height=360, title=_title(question, [f"window {report.window}; HHI {hhi}; top 10 payers {top10}"])
    )
    return Chart("lorenz", question, _svg(chart), note)


def fleet_chart(report: Report, data: ChartData) -> Chart:
    import altair as alt

    question = "Is the TEE fleet alive? Registration to last heartbeat per TEE"
    note = (f"{report.fleet.live} of {report.fleet.tees} TEEs live: enabled and a heartbeat within 1800 s of the "
            "latest OpenGradient block (not now). Each bar runs from registration to the last heartbeat; gaps "
            "between heartbeats are not shown, and the on-chain PCR approval is not checked.")
    rows = [
        {"tee": f"{t.tee_id[:12]}… ({t.registry[:8]})", "registered_at": t.registered_at.isoformat(),
         "last_seen_at": (t.last_heartbeat_at or t.registered_at).isoformat(),
         "state": "live" if t.live else ("enabled, silent" if t.enabled else "disabled")}
        for t in data.tees
        if t.registered_at is not None
    ]
    if not rows:
        return Chart("fleet", question, None, "Nothing to draw: no TEE is registered. " + note)
    anchor = report.summary.inference_head_at
    chart = (
        alt.Chart(_data(rows), name="fleet")
        .mark_bar(height=10)
        .encode(
            x=alt.X("registered_at:T", title="time (UTC)", scale=alt.Scale(type="utc"),
                    axis=alt.Axis(format="%b %d", tickCount="day")),
            x2="last_seen_at:T",
            y=alt.Y("tee:N", title="TEE id (registry)", sort=None),
            color=alt.Color("state:N", title="state", scale=alt.Scale(
                domain=["live", "enabled, silent", "disabled"], range=["#54a24b", "#f58518", "#9d9d9d"])),
        )
        .properties(width=CHART_WIDTH, title=_title(question, [
            f"all time, up to the latest OpenGradient block ({anchor.isoformat() if anchor else 'none'})"]))
    )
    return Chart("fleet", question, _svg(chart), note)


def models_chart(report: Report) -> Chart:
    import altair as alt

    m = report.models
    question = "Which models are used? Inferences per model and attribution source"
    coverage_text = "n/a" if m.catalog.attributed_share is None else f"{m.catalog.attributed_share * 100:.1f}%"
    note = (f"Top {len(m.top)} rows of og.model_usage, window {report.window}. Only records naming the model "
            f"on-chain are attributed: {coverage_text} of all inferences (all time); the grey part is the volume "
            "that names no model (current batch and individual settlements), never spread over models.")
    if m.catalog.attributed_share is None:
        return Chart("models", question, None, "Nothing to draw: no inference is indexed. " + note)
    share = float(m.catalog.attributed_share)
    coverage = (
        alt.Chart(_data([{"part": "names a model on-chain", "share": share, "order": 0},
                         {"part": "unattributed (no model on-chain)", "share": 1 - share, "order": 1}]))
        .mark_bar(height=24)
        .encode(
            x=alt.X("share:Q", title="share of all inferences (all time)", axis=alt.Axis(format="%"),
                    scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("part:N", title="coverage", scale=alt.Scale(range=["#4c78a8", "#bab0ac"]),
                            legend=alt.Legend(labelLimit=300)),
            order="order:Q",
            tooltip=["part:N", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(name="coverage", width=CHART_WIDTH, height=40,
                    title="How much of the volume names a model? (all time)")
    )
    rows = [{"model": line.model or "", "attribution": line.attribution, "inferences": line.inferences}
            for line in m.top if line.attribution != "unattributed"]
    unattributed = sum(line.inferences for line in m.top if line.attribution == "unattributed")
    if not rows:
        return Chart("models", question, _svg(coverage.properties(title=_title(question, [
            f"window {report.window}: no inference names a model; {unattributed:,} unattributed"]))), note)
    per_model = (
        alt.Chart(_data(rows))
        .mark_bar()
        .encode(
            y=alt.Y("model:N", title=None, sort=None, axis=alt.Axis(labelLimit=240)),
            yOffset="attribution:N",
            x=alt.X("inferences:Q", title=f"inferences in window {report.window}"),
            color=alt.Color("attribution:N", title="attribution source", legend=alt.Legend(labelLimit=300),
                            scale=alt.Scale(domain=["legacy_inference", "settlement_metadata"],
                                            range=["#54a24b", "#72b7b2"])),
            tooltip=["model:N", "attribution:N", "inferences:Q"],
        )
        .properties(name="models", width=CHART_WIDTH,
                    title=f"Attributed inferences per model (window {report.window}; {unattributed:,} "
                          "unattributed not drawn on this scale)")
    )
    chart = alt.vconcat(coverage, per_model).resolve_scale(color="independent").properties(
        title=_title(question, [f"window {report.window}; {coverage_text} of all inferences name a model"])
    )
    return Chart("models", question, _svg(chart), note)


def proof_chart(data: ChartData) -> Chart:
    """Per UTC day, the settlements by what became of their proof blob (og.proof_availability)."""
    import altair as alt

    question = "Can batch proofs be checked? Proof availability per day"
    counts = PROOF_COUNTS
    totals: dict[tuple[str, str], int] = {}
    for r in data.proof:
        for c in counts:
            key = (_day(r.day), c)
            totals[key] = totals.get(key, 0) + int(getattr(r, c) or 0)
    rows = [{"day": day, "state": state, "settlements": n} for (day, state), n in sorted(totals.items())]
    if not rows:
        return Chart("proof", question, None, "Nothing to draw: og.proof_availability has no rows.")
    chart = (
        alt.Chart(_data(rows), name="proof")
        .mark_bar()
        .encode(
            x=alt.X("day:T", timeUnit="utcyearmonthdate", title="UTC day"),
            y=alt.Y("settlements:Q", title="settlements", stack="zero"),
            color=alt.Color("state:N", title="proof blob", scale=alt.Scale(domain=list(PROOF_COUNTS))),
        )
        .properties(width=CHART_WIDTH, height=180, title=_title(question, ["all time, all settlement kinds"]))
    )
    return Chart("proof", question, _svg(chart),
                 "Per UTC day: settlements whose proof blob was retrieved and consistent, mismatched, "
                 "unparseable, missing (404), unavailable (refused or failed) or not fetched yet "
                 "(from og.proof_availability; `og-indexer enrich` fetches them).")


# --- page --------------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1000px;
       color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
figure { margin: 1.5em 0; } figcaption { color: #555; font-size: 0.9em; max-width: 760px; }
.empty { background: #fff4e5; border: 1px solid #f0c36d; padding: 0.8em 1em; }
.nochart { color: #8a5a00; font-style: italic; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; }
pre.tables { font-size: 12px; line-height: 1.3; overflow-x: auto; background: #fafafa; padding: 1em; }
"""


def _figure(chart: Chart) -> str:
    body = chart.svg if chart.svg is not None else f'<p class="nochart">{html.escape(chart.note)}</p>'
    caption = "" if chart.svg is None else f"<figcaption>{html.escape(chart.note)}</figcaption>"
    return f'<figure data-chart="{chart.key}">\n{body}\n{caption}</figure>'


def _tables(report: Report) -> str:
    console = Console(record=True, file=io.StringIO(), width=110, color_system=None, force_terminal=False)
    console.print(table_renderable(report))
    return f'<pre class="tables">{html.escape(console.export_text(styles=False))}</pre>'


def _empty(report: Report) -> bool:
    return report.summary.payments_head_at is None and report.summary.inference_head_at is None


def render_html(report: Report, data: ChartData, database: str, generated_at: datetime) -> str:
    a = report.summary
    when = "(nothing indexed)"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>OpenGradient demand report - window {report.window}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>OpenGradient demand report - window {report.window}</h1>",
        '<dl class="meta">',
        f"<dt>Base window anchor</dt><dd>{a.payments_head_at.isoformat() if a.payments_head_at else when} "
        "(latest indexed block time)</dd>",
        f"<dt>OpenGradient window anchor</dt><dd>{a.inference_head_at.isoformat() if a.inference_head_at else when} "
        "(latest indexed block time)</dd>",
        f"<dt>Generated</dt><dd>{generated_at.isoformat(timespec='seconds')}</dd>",
        f"<dt>Database</dt><dd>{html.escape(database)}</dd>",
        "</dl>",
    ]
    if _empty(report):
        parts.append('<p class="empty" id="empty-database">This database holds no indexed block yet, so there is '
                     "nothing to chart. Run <code>og-indexer backfill</code> (or <code>og-indexer run</code>) "
                     "first.</p>")
    sections: list[tuple[str, list[Chart]]] = [
        ("Is usage growing?", daily_charts(report, data)),
        ("Do cohorts come back?", [retention_chart(report)]),
        ("How concentrated is revenue?", [concentration_chart(report, data)]),
        ("Is the TEE fleet alive?", [fleet_chart(report, data)]),
        ("Which models are used, and how much is attributed?", [models_chart(report)]),
    ]
    proof = proof_chart(data)
    for heading, charts in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.extend(_figure(c) for c in charts)
    parts.append("<h2>Can batch proofs be checked?</h2>")
    parts.append(_figure(proof))
    parts.append("<h2>Caveats</h2><ul>")
    parts.extend(f"<li>{html.escape(text)}</li>" for text in report.caveats)
    parts.append("</ul><h2>The figures</h2>")
    parts.append(_tables(report))
    parts.append("</body></html>\n")
    return "\n".join(parts)
