"""Every public view equals the simulator's ground truth on a multi-day, two-week simulation."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest
from pipeline_helpers import devnet_config, fresh_pool, head, run_backfill

from indexer.catalog import import_file, normalize_model, seed

if TYPE_CHECKING:
    from devnet_fixtures import DevnetPair

    from indexer.devnet.truth import GroundTruth

pytest_plugins = ("devnet_fixtures",)

WEI = Decimal(10) ** 18


@pytest.fixture(scope="module")
def truth(devnet_pair: DevnetPair) -> GroundTruth:
    return devnet_pair.simulate(days=9, seed=21)  # Monday 2026-05-04 .. Tuesday 05-12: two cohort weeks


@pytest.fixture(scope="module")
async def indexed(
    devnet_pair: DevnetPair, truth: GroundTruth, server_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[asyncpg.Pool]:
    tmp_path = tmp_path_factory.mktemp("catalog")
    listed = [{"model": m.model, "kind": m.kind, "source": m.source} for m in truth.catalog if m.listed]
    (tmp_path / "catalog.json").write_text(json.dumps(listed))
    cfg = devnet_config(devnet_pair.urls, truth)
    async with fresh_pool(server_dsn) as pool:
        async with pool.acquire() as conn:
            await seed(conn)
            await import_file(conn, tmp_path / "catalog.json")
        for name in ("opengradient", "base"):
            await run_backfill(pool, cfg.chain(name), 0, await head(devnet_pair.urls[name]))
        yield pool


def _t(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _opg(raw: str | int) -> Decimal:
    return Decimal(int(raw)) / WEI


async def _rows(pool: asyncpg.Pool, sql: str) -> list[dict[str, Any]]:
    return [dict(r) for r in await pool.fetch(sql)]


async def test_daily_activity_and_verification_coverage_equal_truth(indexed: asyncpg.Pool, truth: GroundTruth) -> None:
    got = {r["day"].isoformat(): r for r in await _rows(indexed, "select * from og.daily_activity")}
    assert set(got) == set(truth.daily)
    for day, d in truth.daily.items():
        g = got[day]
        assert (g["payments"], g["payers"], g["new_payers"], g["returning_payers"]) == (
            d.payments,
            d.payers,
            d.new_payers,
            d.returning_payers,
        ), day
        assert g["revenue_opg"] == _opg(d.amount_raw), day
        assert g["settled_inferences"] == d.inferences_settled, day
        assert g["verified_inferences"] == d.inferences_verified, day
        assert g["batches"] == d.settlements_by_kind.get("batch", 0), day
        assert g["individual_settlements"] == d.settlements_by_kind.get("individual", 0), day
        assert g["legacy_path_inferences"] == d.legacy_inferences, day
    cov = {r["day"].isoformat(): r for r in await _rows(indexed, "select * from og.verification_coverage")}
    for day, d in truth.daily.items():
        if d.inferences_settled:
            c = cov[day]
            assert (c["settled_inferences"], c["verified_inferences"]) == (d.inferences_settled, d.inferences_verified)
            assert abs(float(c["verified_share"]) - d.inferences_verified / d.inferences_settled) < 1e-9


async def test_heartbeating_tees_per_day_equal_truth(indexed: asyncpg.Pool, truth: GroundTruth) -> None:
    got = {
        r["day"].isoformat(): r["heartbeating_tees"] for r in await _rows(indexed, "select * from og.daily_activity")
    }
    assert sum(d.heartbeats for d in truth.daily.values()) == sum(t.heartbeats for t in truth.tees)
    for day, d in truth.daily.items():
        assert (got[day] > 0) == (d.heartbeats > 0), day
    # on the last day exactly the TEEs whose last heartbeat falls on it were heartbeating
    last = max(truth.daily)
    assert got[last] == sum(1 for t in truth.tees if t.last_heartbeat_at and t.last_heartbeat_at[:10] == last)
    assert 0 < got[last] < len(truth.tees)


async def test_payer_stats_equal_truth(indexed: asyncpg.Pool, truth: GroundTruth) -> None:
    got = {r["payer"]: r for r in await _rows(indexed, "select * from og.payer_stats")}
    assert set(got) == set(truth.payers)
    for payer, p in truth.payers.items():
        g = got[payer]
        assert g["payments"] == p.payments
        assert g["total_opg"] == _opg(p.amount_raw)
        assert g["active_days"] == len(p.days)
        assert g["returning"] is p.returning
        assert g["first_payment_at"] == _t(p.first_payment_at)
        assert g["last_payment_at"] == _t(p.last_payment_at)
    assert any(p.returning for p in truth.payers.values()) and any(not p.returning for p in truth.payers.values())


async def test_payer_retention_equals_truth(indexed: asyncpg.Pool, truth: GroundTruth) -> None:
    def monday(d: date) -> date:
        return d - timedelta(days=d.weekday())

    cohort_of = {p: monday(_t(v.first_payment_at).date()) for p, v in truth.payers.items()}
    active: dict[tuple[date, int], set[str]] = defaultdict(set)
    for payer, v in truth.payers.items():
        for day in v.days:
            week = monday(date.fromisoformat(day))
            active[(cohort_of[payer], (week - cohort_of[payer]).days // 7)].add(payer)
    sizes = Counter(cohort_of.values())
    got = {
        (r["cohort_week"], r["week_offset"]): (r["cohort_size"], r["active_payers"])
        for r in await _rows(indexed, "select * from og.payer_retention")
    }
    want = {k: (sizes[k[0]], len(v)) for k, v in active.items()}
    assert {k: v for k, v in got.items() if v[1]} == want
    assert len(sizes) == 2  # two cohort weeks really exist


async def test_model_usage_and_returning_payers_per_model_equal_truth(
    indexed: asyncpg.Pool, truth: GroundTruth
) -> None:
    got = {(r["model"], r["attribution"]): r for r in await _rows(indexed, "select * from og.model_usage")}
    want: dict[tuple[str | None, str], tuple[int, int | None, bool]] = {}
    for name, m in truth.models.items():
        key = normalize_model(name)
        if m.legacy_inferences:
            want[(key, "legacy_inference")] = (m.legacy_inferences, m.legacy_payers, m.listed)
        if m.metadata_settlements:
            want[(key, "settlement_metadata")] = (m.metadata_settlements, None, m.listed)
    attributed = {k: (v["inferences"], v["payers"], v["listed"]) for k, v in got.items() if k[0] is not None}
    assert attributed == want
    unattributed = [v for k, v in got.items() if k[0] is None]
    batch_and_individual = sum(
        s.inferences
        for s in truth.settlements
        if s.trusted and s.kind in ("batch", "individual", "legacy_batch", "legacy_single")
    )
    assert len(unattributed) == 1 and unattributed[0]["inferences"] == batch_and_individual
    # per-model payers on the legacy path: a payer returning to a model on a later day
    uses: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for i in truth.inferences:
        if i.source == "precompile":
            uses[normalize_model(i.model) or ""][i.payer].add(i.time[:10])
    rp = {
        r["model"]: r
        for r in await _rows(
            indexed, "select * from og.returning_payers_per_model where attribution = 'legacy_inference'"
        )
    }
    for model, payers in uses.items():
        assert rp[model]["payers"] == len(payers)
        assert rp[model]["returning_payers"] == sum(1 for days in payers.values() if len(days) > 1)


async def test_tee_fleet_equals_truth(indexed: asyncpg.Pool, truth: GroundTruth) -> None:
    got = {r["tee_id"]: r for r in await _rows(indexed, "select * from og.tee_fleet")}
    assert set(got) == {t.tee_id for t in truth.tees}
    individual = Counter(s.tee_id for s in truth.settlements if s.kind == "individual" and s.trusted)
    for t in truth.tees:
        g = got[t.tee_id]
        assert (g["owner"], g["tee_type"], g["enabled"], g["heartbeats"]) == (
            t.owner,
            t.tee_type,
            t.enabled,
            t.heartbeats,
        )
        assert g["live"] is t.active_at_end, t.fate
        assert g["individual_settlements"] == individual[t.tee_id]
        assert g["registered_at"] == _t(t.registered_at)
    assert {t.fate for t in truth.tees} >= {"live", "dead", "disabled"}


async def test_demand_concentration_all_equals_truth(indexed: asyncpg.Pool, truth: GroundTruth) -> None:
    spend = sorted((_opg(p.amount_raw) for p in truth.payers.values()), reverse=True)
    total = sum(spend)
    g = await indexed.fetchrow("select * from og.demand_concentration where \"window\" = 'all'")
    assert g is not None
    assert g["payers"] == len(spend) and g["revenue_opg"] == total
    assert abs(float(g["top1_share"]) - float(spend[0] / total)) < 1e-9
    assert abs(float(g["top10_share"]) - float(sum(spend[:10]) / total)) < 1e-9
    assert abs(float(g["hhi"]) - float(sum((s / total) ** 2 for s in spend))) < 1e-9


async def test_catalog_vs_usage_equals_truth(indexed: asyncpg.Pool, truth: GroundTruth) -> None:
    listed = {normalize_model(m.model) for m in truth.catalog if m.listed}
    used = {normalize_model(n) for n, m in truth.models.items() if m.legacy_inferences or m.metadata_settlements}
    g = await indexed.fetchrow("select * from og.catalog_vs_usage")
    assert g is not None
    assert g["listed_models"] == len(listed)
    assert g["used_models"] == len(used)
    assert g["listed_never_used"] == len(listed - used) > 0
    assert g["used_not_listed"] == len(used - listed) > 0


async def read_every_view_through_its_model(pool: asyncpg.Pool, may_be_empty: frozenset[str]) -> None:
    """Every row of every view validates as its typed read model and reads back the same values."""
    from indexer import models
    from indexer.views import VIEWS

    for v in VIEWS:
        recs = await pool.fetch(f"select * from og.{v.TABLE}")
        assert recs or v.TABLE in may_be_empty, v.TABLE
        for rec in recs:
            row = models.from_record(models.MODELS[v.TABLE], rec)
            assert [getattr(row, models.RENAMED_COLUMNS.get(c, c)) for c in v.columns()] == list(rec.values()), v.TABLE


async def test_every_row_of_every_view_reads_as_its_typed_model(indexed: asyncpg.Pool) -> None:
    await read_every_view_through_its_model(indexed, frozenset({"model_tokens_daily"}))  # no payloads here
