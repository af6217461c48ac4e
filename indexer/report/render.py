"""Render a built demand report as a rich table, CSV (long format) or JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..tables import Row
from .build import FundingSection, Report, ReportError, WalrusSection, is_ratio, percent, when

FORMATS = ("table", "csv", "json")
TOP_TEES = 10  # TEE rows shown in the table; CSV and JSON carry all of them
RETENTION_WEEKS = 5  # week offsets shown in the table (0..4); CSV and JSON carry all of them

Pairs = list[tuple[str, Any]]


# --- the report's sections as named values (JSON and CSV share them) ---------------------------


def _span(row: Row, first: str, last: str | None = None) -> Pairs:
    """The row's columns from `first` to `last` (to the end when None), in the view's order."""
    names = row.columns()
    stop = len(names) if last is None else names.index(last) + 1
    return [(c, getattr(row, c)) for c in names[names.index(first):stop]]


def _pairs(obj: Any, skip: tuple[str, ...] = ()) -> Pairs:
    return [(f.name, getattr(obj, f.name)) for f in fields(obj) if f.name not in skip]


def _anchors(report: Report) -> Pairs:
    return _span(report.summary, "payments_head_at", "inference_head_at")


def _models(report: Report) -> Pairs:
    """og.catalog_vs_usage's figures, its per-window active counts read as the window's one."""
    out: Pairs = []
    for name, value in _pairs(report.models.catalog):
        if not name.startswith("active_models_"):
            out.append((name, value))
        elif all(n != "active_models" for n, _ in out):
            out.append(("active_models", report.models.active_models))
    return out


def _payments(report: Report) -> Pairs:
    *counts, revenue = _span(report.summary, "payments", "revenue_opg")
    return [*counts, ("returning_share", report.returning_share), revenue]


def _verification(report: Report) -> Pairs:
    return _span(report.summary, "settled_inferences")


def _fleet(report: Report) -> Pairs:
    return _pairs(report.fleet, skip=("tee_lines",))


# --- JSON --------------------------------------------------------------------------------------


def _json(value: Any, name: str = "") -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _json(v, k) for k, v in _pairs(value)}
    if isinstance(value, tuple | list):
        return [_json(v, name) for v in value]
    if isinstance(value, Decimal):  # OPG amounts exact strings, ratios numbers, counts integers
        return str(value) if name.endswith("_opg") else float(value) if is_ratio(name) else int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _object(pairs: Pairs) -> dict[str, Any]:
    return {k: _json(v, k) for k, v in pairs}


def report_dict(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data (the shape render_json prints)."""
    return {
        "window": report.window,
        "anchors": _object(_anchors(report)),
        "models": {**_object(_models(report)), "top": _json(report.models.top)},
        "payments": {**_object(_payments(report)), "top_payers": _json(report.top_payers)},
        "retention": _json(report.retention),
        "verification": _object(_verification(report)),
        "concentration": _object(_pairs(report.concentration, skip=report.concentration.KEY)),
        "fleet": {**_object(_fleet(report)), "tee_lines": _json(report.fleet.tee_lines)},
        "caveats": list(report.caveats),
        "funding": _json(report.funding),
        "walrus": _json(report.walrus),
    }


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2) + "\n"


# --- CSV ---------------------------------------------------------------------------------------


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

    def section(name: str, pairs: Pairs, item: str = "") -> Iterator[tuple[str, str, str, str]]:
        for metric, value in pairs:
            yield name, item, metric, _csv_value(value)

    yield "report", "", "window", report.window
    yield from section("report", _anchors(report))
    yield from section("models", _models(report))
    for m in report.models.top:
        yield from section("top_models", _pairs(m), item=f"{m.attribution}:{m.model or ''}")
    yield from section("payments", _payments(report))
    for p in report.top_payers:
        yield from section("top_payers", _pairs(p, skip=("payer",)), item=p.payer)
    for c in report.retention:
        week = c.cohort_week.isoformat()
        yield "retention", week, "cohort_size", str(c.cohort_size)
        for offset, (active, share) in enumerate(zip(c.active_payers, c.retention, strict=True)):
            yield "retention", week, f"week_{offset}_active_payers", str(active)
            yield "retention", week, f"week_{offset}_retention", _csv_value(share)
    yield from section("verification", _verification(report))
    yield from section("concentration", _pairs(report.concentration, skip=report.concentration.KEY))
    yield from section("fleet", _fleet(report))
    for t in report.fleet.tee_lines:
        yield from section("tees", _pairs(t, skip=("tee_id", "registry")), item=f"{t.registry}:{t.tee_id}")
    if report.funding is not None:
        yield from section("funding", _pairs(report.funding, skip=("by_class",)))
        for line in report.funding.by_class:
            yield from section("funding_classes", _pairs(line, skip=("funding_class",)), item=line.funding_class)
    for i, text in enumerate(report.caveats, start=1):
        yield "caveats", str(i), "text", text
    if report.walrus is not None:
        for w in report.walrus.models:
            yield from section("walrus_models", _pairs(w, skip=("model",)), item=w.model)
        for proof in report.walrus.proofs:
            yield from section("walrus_proofs", _pairs(proof, skip=("kind",)), item=proof.kind or "")


def render_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "item", "metric", "value"))
    writer.writerows(csv_rows(report))
    return out.getvalue()


# --- table -------------------------------------------------------------------------------------


def _opg(value: Decimal | None) -> str:
    return f"{value:,.6f}".rstrip("0").rstrip(".") if value else "0"


def _short_time(value: datetime | None) -> str:
    return "never" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _yes(value: bool | None) -> str:
    return "yes" if value else "no"


def _kv_table(title: str, pairs: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE, show_header=False)
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for key, value in pairs:
        table.add_row(key, value)
    return table


def table_renderable(report: Report) -> RenderableType:
    """The report as rich renderables, for a Console to print (the Walrus section apart)."""
    w = report.window
    s, cat, c, f = report.summary, report.models.catalog, report.concentration, report.fleet
    parts: list[RenderableType] = [
        Text(f"OpenGradient demand report - window {w}", style="bold"),
        Text(f"Base head {when(s.payments_head_at)}; OpenGradient head {when(s.inference_head_at)}"),
        _kv_table(
            "Models: used vs listed",
            [
                ("listed models", str(cat.listed_models)),
                ("used models (named on-chain, all time)", str(cat.used_models)),
                (f"active models ({w})", str(report.models.active_models)),
                ("listed, never used on-chain", str(cat.listed_never_used)),
                ("used, not listed", str(cat.used_not_listed)),
                ("catalog active in 30d", percent(cat.active_share_30d)),
                ("inferences attributable to a model", percent(cat.attributed_share)),
            ],
        ),
    ]
    top_models = Table(title=f"Top models ({w})", title_justify="left", box=box.SIMPLE)
    for col in ("model", "attribution", "inferences", "payers", "listed"):
        top_models.add_column(col, justify="right" if col in ("inferences", "payers") else "left")
    for model_line in report.models.top:
        top_models.add_row(
            model_line.model or "(no model on-chain)",
            model_line.attribution,
            f"{model_line.inferences:,}",
            "n/a" if model_line.payers is None else str(model_line.payers),
            "" if model_line.listed is None else _yes(model_line.listed),
        )
    parts.append(top_models)
    parts.append(
        _kv_table(
            f"Who pays ({w})",
            [
                ("payments (x402)", f"{s.payments:,}"),
                ("payers", f"{s.payers:,}"),
                ("new payers", f"{s.new_payers:,}"),
                ("returning payers (paid on >= 2 UTC days)", f"{s.returning_payers:,}"),
                ("returning share", percent(report.returning_share)),
                ("revenue (OPG)", _opg(s.revenue_opg)),
            ],
        )
    )
    top_payers = Table(title=f"Top payers ({w})", title_justify="left", box=box.SIMPLE)
    top_payers.add_column("payer", no_wrap=True, min_width=42)
    for col in ("payments", "OPG", "share", "active days", "returning"):
        top_payers.add_column(col, justify="right")
    for line in report.top_payers:
        top_payers.add_row(
            line.payer,
            f"{line.payments:,}",
            _opg(line.revenue_opg),
            percent(line.share),
            str(line.active_days),
            _yes(line.returning),
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
            percent(cohort.retention[o]) if o < len(cohort.retention) else ""
            for o in range(1, RETENTION_WEEKS)
        ]
        retention.add_row(cohort.cohort_week.isoformat(), str(cohort.cohort_size), *cells)
    parts.append(retention)
    parts.append(
        _kv_table(
            f"How much is verified ({w})",
            [
                ("settled inferences (trusted relayers)", f"{s.settled_inferences:,}"),
                ("  in batches (Merkle root, not signature-checked)", f"{s.batch_inferences:,}"),
                ("  individually (TEE signature checked on-chain)", f"{s.individual_inferences:,}"),
                ("  legacy relay settlements", f"{s.legacy_inferences:,}"),
                ("verified on-chain", f"{s.verified_inferences:,}"),
                ("verified share", percent(s.verified_share)),
                ("legacy-path inferences (alpha precompile)", f"{s.legacy_path_inferences:,}"),
                ("  of which TEE or ZKML mode", f"{s.legacy_path_verified_inferences:,}"),
            ],
        )
    )
    parts.append(
        _kv_table(
            f"How concentrated is demand ({w})",
            [
                ("payers", f"{c.payers:,}"),
                ("revenue (OPG)", _opg(c.revenue_opg)),
                ("top payer share", percent(c.top1_share)),
                ("top 10 payers share", percent(c.top10_share)),
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
        for tee in sorted(f.tee_lines, key=lambda t: (bool(t.live), t.tee_id))[:TOP_TEES]:
            tees.add_row(
                tee.tee_id,
                tee.tee_type_name or "",
                _yes(tee.enabled),
                _yes(tee.live),
                _short_time(tee.last_heartbeat_at),
                f"{tee.individual_settlements or 0:,}",
            )
        parts.append(tees)
    if report.funding is not None:
        parts.extend(funding_renderables(report.funding, w))
    parts.append(Text("Caveats", style="bold"))
    parts.extend(Text(f"- {text}") for text in report.caveats)
    return Group(*parts)


def funding_renderables(f: FundingSection, w: str) -> list[RenderableType]:
    """The funding part of the table rendering."""
    table = Table(title=f"Where the payers' OPG came from ({w})", title_justify="left", box=box.SIMPLE)
    table.add_column("funding class")
    for col in ("payers", "payments", "OPG", "share"):
        table.add_column(col, justify="right")
    for line in f.by_class:
        table.add_row(
            line.funding_class, f"{line.payers:,}", f"{line.payments:,}", _opg(line.revenue_opg), percent(line.share)
        )
    summary = _kv_table(
        f"Real demand vs recycled money ({w})",
        [
            ("organic payers (class not insider)", f"{f.organic_payers:,}"),
            ("organic returning payers (paid on >= 2 UTC days)", f"{f.organic_returning_payers:,}"),
            ("organic share of revenue", percent(f.organic_share)),
            ("recycled payments (payee money back)", f"{f.recycled_payments:,}"),
            ("recycled share of revenue", percent(f.recycled_share)),
        ],
    )
    return [table, summary]


def _tokens(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def walrus_renderables(section: WalrusSection) -> list[RenderableType]:
    """The Walrus part of the table rendering: models with tokens, proof availability."""
    models = Table(
        title=f"Models named by Walrus payloads ({section.window}; individual settlements, no payer)",
        title_justify="left",
        box=box.SIMPLE,
    )
    for name in ("model", "inferences", "prompt tokens", "completion tokens", "total tokens"):
        models.add_column(name, justify="left" if name == "model" else "right")
    for m in section.models:
        models.add_row(
            m.model, f"{m.inferences:,}", _tokens(m.prompt_tokens), _tokens(m.completion_tokens),
            _tokens(m.total_tokens),
        )
    proofs = Table(
        title=f"Proof availability ({section.window}; trusted settlements; Walrus payloads)",
        title_justify="left",
        box=box.SIMPLE,
    )
    proofs.add_column("")
    for p in section.proofs:
        proofs.add_column(p.kind, justify="right")
    for label, attr in (
        ("settlements", "settlements"),
        ("payload fetched", "blobs_fetched"),
        ("consistent", "consistent"),
        ("mismatched (root, count or TEE)", "mismatched"),
        ("unparseable", "unparseable"),
        ("missing (404: expired or never stored)", "missing"),
        ("refused (403 too large, 451 blocked)", "unavailable"),
        ("not fetched yet", "not_fetched"),
    ):
        proofs.add_row(label, *(f"{getattr(p, attr) or 0:,}" for p in section.proofs))
    proofs.add_row("retrievable and consistent", *(percent(p.retrievable_consistent_share) for p in section.proofs))
    empty = Text("No Walrus payload names a model yet (run `og-indexer enrich`).")
    return [models if section.models else empty, proofs]


def _print(renderable: RenderableType, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, force_terminal=False).print(renderable)
    return out.getvalue()


def render_walrus_table(section: WalrusSection, width: int = 100) -> str:
    """The Walrus section as plain text, printed after the table report."""
    return _print(Group(*walrus_renderables(section)), width)


def render_table(report: Report, width: int = 100) -> str:
    """The table rendering as plain text (no colour codes), the Walrus section last."""
    text = _print(table_renderable(report), width)
    return text if report.walrus is None else text + render_walrus_table(report.walrus, width)


def render(report: Report, fmt: str) -> str:
    """Render as 'table', 'csv' or 'json'."""
    if fmt == "table":
        return render_table(report)
    if fmt == "csv":
        return render_csv(report)
    if fmt == "json":
        return render_json(report)
    raise ReportError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
