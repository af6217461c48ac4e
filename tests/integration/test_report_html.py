"""The HTML report in a real browser: every chart drew its marks, nothing errs or leaves the page,
its numbers equal the views on a simulated history, and an empty database says so."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest
from browser import chromium_path, chromium_tab
from click.testing import CliRunner
from pipeline_helpers import devnet_config, fresh_pool, head, run_backfill

from indexer.catalog import import_file, seed
from indexer.cli import main
from indexer.report_html import PROOF_COUNTS, build_html_report, describe_database

if TYPE_CHECKING:
    from devnet_fixtures import DevnetPair

    from indexer.devnet.truth import GroundTruth

pytestmark = pytest.mark.integration
pytest_plugins = ("devnet_fixtures",)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # git-ignored

# Per chart: the mark groups (Vega-Lite names) whose drawn paths are counted in the DOM.
MARK_GROUPS = (
    "daily_payments", "daily_payers", "daily_revenue", "daily_inferences_line", "daily_inferences_points",
    "retention", "retention_labels", "lorenz_equality", "lorenz_curve", "lorenz_points", "fleet", "coverage",
    "models",
    "proof",
)
COUNT_MARKS = (
    f"Object.fromEntries({json.dumps(list(MARK_GROUPS))}.map(k => [k, document.querySelectorAll("
    "'g.' + k + '_marks > path, g.' + k + '_marks > text').length]))"
)


def aria_labels(group: str) -> str:
    """JavaScript: the aria-labels of a mark group's drawn marks (Vega writes each datum's fields there)."""
    return f"Array.from(document.querySelectorAll('g.{group}_marks > path')).map(p => p.getAttribute('aria-label'))"


def browser() -> str:
    found = chromium_path()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs the Debian package chromium")
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def truth(devnet_pair: DevnetPair) -> GroundTruth:
    return devnet_pair.simulate(days=9, seed=21)  # two cohort weeks, TEEs, all attribution sources


@pytest.fixture(scope="module")
async def indexed(
    devnet_pair: DevnetPair, truth: GroundTruth, server_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[asyncpg.Pool]:
    listed = [{"model": m.model, "kind": m.kind, "source": m.source} for m in truth.catalog if m.listed]
    catalog_file = tmp_path_factory.mktemp("catalog") / "catalog.json"
    catalog_file.write_text(json.dumps(listed))
    cfg = devnet_config(devnet_pair.urls, truth)
    async with fresh_pool(server_dsn) as pool:
        async with pool.acquire() as conn:
            await seed(conn)
            await import_file(conn, catalog_file)
        for name in ("opengradient", "base"):
            await run_backfill(pool, cfg.chain(name), 0, await head(devnet_pair.urls[name]))
        yield pool


async def expected_marks(pool: asyncpg.Pool) -> dict[str, int]:
    """What each chart must draw for window 'all', counted from the views (not from the page)."""
    days = await pool.fetchval("select count(*) from og.daily_activity")
    cells = await pool.fetchval("select count(*) from og.payer_retention")
    return {
        "daily_payments": days,
        "daily_payers": 2 * days,  # new and returning, stacked
        "daily_revenue": days,
        "daily_inferences_line": 2,  # settled, verified
        "daily_inferences_points": 2 * days,
        "retention": cells,
        "retention_labels": cells,
        "lorenz_equality": 1,
        "lorenz_curve": 1,
        "lorenz_points": 1 + await pool.fetchval("select count(*) from og.payer_stats where payments > 0"),
        "fleet": await pool.fetchval("select count(*) from og.tee_fleet where registered_at is not null"),
        "coverage": 2,  # named vs unattributed
        "proof": len(PROOF_COUNTS) * await pool.fetchval(  # every state per day, zero-height bars included
            "select count(distinct day) from og.proof_availability"
        ),
        "models": await pool.fetchval(  # the report's top 10 rows, the unattributed one drawn as coverage
            "select count(*) from (select attribution from og.model_usage where inferences > 0"
            " order by inferences desc, model nulls last, attribution limit 10) t"
            " where attribution <> 'unattributed'"
        ),
    }


def label_fields(label: str) -> dict[str, str]:
    """'UTC day: May 04, 2026; payments: 12' -> {'UTC day': 'May 04, 2026', 'payments': '12'}"""
    return dict(part.split(": ", 1) for part in label.split("; "))


def number(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


async def test_html_report_draws_every_chart_with_the_views_numbers(
    indexed: asyncpg.Pool, truth: GroundTruth, tmp_path: Path
) -> None:
    binary = browser()
    dsn = indexed._connect_args[0]  # type: ignore[attr-defined]
    out = tmp_path / "report.html"
    result = await asyncio.to_thread(
        CliRunner().invoke, main, ["--database-url", dsn, "report", "--format", "html", "--window", "all",
                                   "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert f"report written to {out.resolve()}" in result.output
    page = out.read_text()
    assert "<script" not in page.lower() and "http://" not in page.split("<svg", 1)[0]
    assert describe_database(dsn) in page and "postgres@" not in page

    async with chromium_tab(binary) as tab:
        run = await tab.open(out.as_uri())
        assert run.errors == []
        assert [u for u in run.requests if not u.startswith(("file:", "data:"))] == []  # nothing fetched
        drawn = await tab.evaluate(COUNT_MARKS)
        ARTIFACTS.mkdir(exist_ok=True)
        await tab.screenshot(ARTIFACTS / "report_html_simulated.png")
        payments_labels = await tab.evaluate(aria_labels("daily_payments"))
        revenue_labels = await tab.evaluate(aria_labels("daily_revenue"))
        tables = await tab.evaluate("document.querySelector('pre.tables').innerText")
        lorenz_caption = await tab.evaluate("document.querySelector('figure[data-chart=lorenz] figcaption').innerText")
        empty_note = await tab.evaluate("document.getElementById('empty-database') !== null")
    (ARTIFACTS / "report_html_simulated.html").write_text(page)

    expected = await expected_marks(indexed)
    assert all(n > 0 for n in expected.values()), expected
    assert drawn == expected
    assert not empty_note

    # Daily bars: each bar's label carries its day and value; they equal the view and the simulator.
    daily = {r["day"].strftime("%b %d"): r for r in await indexed.fetch("select * from og.daily_activity")}
    by_day = {f["UTC day"]: number(f["payments"]) for f in map(label_fields, payments_labels)}
    assert by_day == {day: r["payments"] for day, r in daily.items()}
    assert {day: r["payments"] for day, r in daily.items() if r["payments"]} == {
        datetime.fromisoformat(day).strftime("%b %d"): d.payments for day, d in truth.daily.items() if d.payments
    }
    revenue = {f["UTC day"]: number(f["OPG"]) for f in map(label_fields, revenue_labels)}
    for day, r in daily.items():
        assert abs(revenue[day] - r["revenue_opg"]) <= Decimal("0.000001") * max(1, r["revenue_opg"]), day

    # The figures tables and the concentration caption equal the views for window 'all'.
    summary = await indexed.fetchrow("select * from og.window_summary where \"window\" = 'all'")
    conc = await indexed.fetchrow("select * from og.demand_concentration where \"window\" = 'all'")
    assert re.search(rf"payments \(x402\)\s+{summary['payments']:,} *\n", tables)
    assert re.search(rf"settled inferences \(trusted relayers\)\s+{summary['settled_inferences']:,} *\n", tables)
    assert f"HHI {Decimal(conc['hhi']):.4f}" in lorenz_caption
    assert f"{conc['payers']} payers" in lorenz_caption
    heads = await indexed.fetchrow("select payments_head_at, inference_head_at from og.windows where ord = 1")
    assert heads["payments_head_at"].isoformat() in page and heads["inference_head_at"].isoformat() in page


async def test_empty_database_gives_a_page_that_says_so(pool: asyncpg.Pool, tmp_path: Path) -> None:
    binary = browser()
    async with pool.acquire() as conn:
        page = await build_html_report(conn, "30d", "test/empty", datetime(2026, 1, 1, tzinfo=UTC))
    out = tmp_path / "empty.html"
    out.write_text(page)
    async with chromium_tab(binary) as tab:
        run = await tab.open(out.as_uri())
        assert run.errors == []
        state: dict[str, Any] = await tab.evaluate(
            "({empty: document.getElementById('empty-database')?.innerText,"
            " svgs: document.querySelectorAll('svg').length,"
            " figures: document.querySelectorAll('figure').length,"
            " notes: Array.from(document.querySelectorAll('figure .nochart')).map(e => e.innerText)})"
        )
        await tab.screenshot(ARTIFACTS / "report_html_empty.png")
    assert state["empty"] is not None and "no indexed block yet" in state["empty"]
    assert state["svgs"] == 0
    assert state["figures"] == 9 and len(state["notes"]) == 9
    assert all(n.startswith("Nothing to draw") for n in state["notes"]), state["notes"]


async def test_proof_chart_draws_every_state_per_day_summed_over_kinds(pool: asyncpg.Pool) -> None:
    """The proof chart stacks og.proof_availability's counts per day over settlement kinds. The view
    is replaced by known rows here (the Walrus tests hold the real view to the simulator's truth)."""
    async with pool.acquire() as conn:
        await conn.execute(
            "drop view og.proof_availability;"
            " create view og.proof_availability as select * from (values"
            " (date '2026-05-04', 'batch', 6, 5, 1, 3, 1, 0, 0, 1, 0.5),"
            " (date '2026-05-04', 'individual', 2, 2, 0, 2, 0, 0, 0, 0, 1.0),"
            " (date '2026-05-05', 'batch', 5, 3, 1, 3, 0, 0, 1, 0, 0.6))"
            " as t (day, kind, settlements, blobs_fetched, missing, consistent, mismatched, unparseable,"
            " unavailable, not_fetched, retrievable_consistent_share)"
        )
        page = await build_html_report(conn, "all", "test/proof", datetime(2026, 1, 1, tzinfo=UTC))
    group = re.search(r'<g class="mark-rect role-mark proof_marks"[^>]*>(.*?)</g>', page, re.S)
    assert group is not None
    labels = re.findall(r'aria-label="([^"]*)"', group.group(1))
    assert len(labels) == 2 * len(PROOF_COUNTS)  # two days, every state (zero-height bars included)
    drawn = {(f["UTC day"], f["proof blob"]): number(f["settlements"]) for f in map(label_fields, labels)}
    expected = {
        "May 04, 2026": {"consistent": 5, "mismatched": 1, "unparseable": 0, "missing": 1, "unavailable": 0,
                         "not_fetched": 1},
        "May 05, 2026": {"consistent": 3, "mismatched": 0, "unparseable": 0, "missing": 1, "unavailable": 1,
                         "not_fetched": 0},
    }
    assert drawn == {(day, state): n for day, states in expected.items() for state, n in states.items()}
