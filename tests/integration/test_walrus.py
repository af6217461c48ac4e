"""Walrus enrichment end to end: simulated chain + payloads, backfill, enrich from the loopback
stand-in; every new and changed view equals the simulator's ground truth; no repeat requests;
offline reparse; a reorg removes derived rows."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest
from pipeline_helpers import devnet_config, fresh_pool, head, run_backfill

from indexer import store, sync
from indexer.catalog import normalize_model
from indexer.devnet.aggregator import Faults, StandIn
from indexer.devnet.simulate import simulate
from indexer.report import render_walrus_table, walrus_section
from indexer.walrus.client import FetchOptions
from indexer.walrus.enrich import enrich, enrich_forever

if TYPE_CHECKING:
    from devnet_fixtures import DevnetPair

    from indexer.devnet.records import WalrusBlob
    from indexer.devnet.truth import GroundTruth

pytest_plugins = ("devnet_fixtures",)

OG = 10740
CONCURRENCY = 4
OPTS = FetchOptions(concurrency=CONCURRENCY, backoff_s=0.01, timeout_s=10)
WALRUS_TABLES = {"walrus_blobs": "blob_id", "walrus_individual": "chain_id, block_number, log_index",
                 "walrus_batches": "chain_id, block_number, log_index",
                 "walrus_batch_leaves": "chain_id, block_number, log_index, leaf_index"}


@pytest.fixture(scope="module")
def blob_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("walrus")


@pytest.fixture(scope="module")
def truth(devnet_pair: DevnetPair, blob_dir: Path) -> GroundTruth:
    devnet_pair.reset()
    return simulate(devnet_pair.og.url, devnet_pair.base.url, 2, 11, blob_dir=blob_dir)


@pytest.fixture(scope="module")
async def standin(blob_dir: Path) -> AsyncIterator[StandIn]:
    s = await StandIn(blob_dir, Faults(latency_s=0.02)).start()
    yield s
    await s.stop()


@pytest.fixture(scope="module")
async def indexed(devnet_pair: DevnetPair, truth: GroundTruth, server_dsn: str,
                  standin: StandIn) -> AsyncIterator[asyncpg.Pool]:
    cfg = devnet_config(devnet_pair.urls, truth)
    async with fresh_pool(server_dsn) as pool:
        await run_backfill(pool, cfg.chain("opengradient"), 0, await head(devnet_pair.urls["opengradient"]))
        result = await enrich(pool, [standin.url], OPTS)
        assert result.requested == len(truth.walrus.blobs)
        yield pool


async def _rows(pool: asyncpg.Pool, sql: str) -> list[dict[str, Any]]:
    return [dict(r) for r in await pool.fetch(sql)]


def _trusted(truth: GroundTruth) -> list[WalrusBlob]:
    return [b for b in truth.walrus.blobs if b.trusted]


async def test_concurrency_never_exceeds_the_setting(indexed: asyncpg.Pool, standin: StandIn) -> None:
    assert standin.stats.max_in_flight == CONCURRENCY


async def test_every_blob_ends_in_the_status_the_simulator_gave_it(indexed: asyncpg.Pool, truth: GroundTruth) -> None:
    blobs = {r["blob_id"]: r for r in await _rows(indexed, "select * from og.walrus_blobs")}
    assert {k: v["status"] for k, v in blobs.items()} == {
        b.blob_id: "fetched" if b.served else "missing" for b in truth.walrus.blobs}
    assert all(blobs[b.blob_id]["attempts"] == 3 for b in truth.walrus.blobs if not b.served)
    individual = {r["blob_id"]: r for r in await _rows(indexed, "select * from og.walrus_individual")}
    batches = {r["blob_id"]: r for r in await _rows(indexed, "select * from og.walrus_batches")}
    for b in truth.walrus.blobs:
        got = (individual if b.kind == "individual" else batches).get(b.blob_id)
        if not b.served:
            assert got is None, b
            continue
        assert got is not None and got["status"] == b.payload_status, b
        if b.kind == "batch":
            assert (got["leaf_format"], got["leaves"]) == (b.leaf_format, b.leaves), b
        else:
            assert got["consistent"] == b.consistent, b
            assert got["model_raw"] == b.model, b
            assert (got["prompt_tokens"], got["completion_tokens"], got["total_tokens"], got["streamed"]) == (
                b.prompt_tokens, b.completion_tokens, b.total_tokens, b.streamed), b
    kinds = Counter((b.kind, b.payload_status) for b in truth.walrus.blobs)
    assert kinds[("batch", "root_mismatch")] and kinds[("batch", "count_mismatch")]
    assert kinds[("batch", "unparseable")] and kinds[("batch", "unknown_leaf_format")]
    assert {b.leaf_format for b in truth.walrus.blobs if b.kind == "batch"} >= {"io", "io_sig", "tee_io_sig_ts"}
    assert any(b.streamed for b in truth.walrus.blobs) and any(b.consistent is False for b in truth.walrus.blobs)


async def test_model_usage_and_tokens_equal_truth(indexed: asyncpg.Pool, truth: GroundTruth) -> None:
    usage = {r["model"]: r for r in await _rows(
        indexed, "select * from og.model_usage where attribution = 'walrus_payload'")}
    assert set(usage) == set(truth.walrus.models)
    for model, t in truth.walrus.models.items():
        g = usage[model]
        assert (g["inferences"], g["payers"]) == (t.inferences, None), model
        assert (g["prompt_tokens"], g["completion_tokens"], g["total_tokens"]) == (
            t.prompt_tokens, t.completion_tokens, t.total_tokens), model
        assert (g["inferences_7d"], g["total_tokens_7d"], g["total_tokens_30d"]) == (
            t.inferences, t.total_tokens, t.total_tokens), model
    others = await _rows(indexed, "select * from og.model_usage where attribution <> 'walrus_payload'")
    assert all(r["total_tokens"] is None for r in others)
    settled = sum(s.inferences for s in truth.settlements if s.trusted)
    metadata = sum(1 for s in truth.settlements if s.trusted and s.kind == "legacy_metadata" and s.model)
    covered = sum(t.inferences for t in truth.walrus.models.values())
    unattributed = next(r for r in others if r["attribution"] == "unattributed")
    assert unattributed["inferences"] == settled - metadata - covered  # missing/bad payloads stay unattributed
    returning = await _rows(indexed, "select * from og.returning_payers_per_model where attribution = 'walrus_payload'")
    assert len(returning) == len(truth.walrus.models)
    assert all(r["payers"] is None and r["returning_payers"] is None for r in returning)
    share = (await _rows(indexed, "select attributed_share from og.catalog_vs_usage"))[0]["attributed_share"]
    total = sum(r["inferences"] for r in await _rows(indexed, "select inferences from og.model_usage"))
    assert float(share * total) == pytest.approx(float(total - unattributed["inferences"]))


async def test_model_tokens_daily_equals_truth(indexed: asyncpg.Pool, truth: GroundTruth) -> None:
    want: dict[tuple[str, str], list[int]] = {}
    for b in _trusted(truth):
        if b.kind == "individual" and b.consistent and b.model:
            key = (b.time[:10], normalize_model(b.model) or "")
            w = want.setdefault(key, [0, 0, 0])
            w[0] += 1
            w[1] += b.prompt_tokens is not None
            w[2] += b.total_tokens or 0
    got = {(r["day"].isoformat(), r["model"]): [r["inferences"], r["with_usage"], r["total_tokens"] or 0]
           for r in await _rows(indexed, "select * from og.model_tokens_daily")}
    assert got == want


def _proof(b: WalrusBlob) -> str:
    if not b.served:
        return "missing"
    if b.kind == "batch":
        return {"consistent": "consistent", "root_mismatch": "mismatched", "count_mismatch": "mismatched"}.get(
            b.payload_status or "", "unparseable")
    if b.payload_status != "parsed":
        return "unparseable"
    return "consistent" if b.consistent else "mismatched"


async def test_proof_availability_and_verification_coverage_equal_truth(
    indexed: asyncpg.Pool, truth: GroundTruth
) -> None:
    want: dict[tuple[str, str], Counter[str]] = {}
    for b in _trusted(truth):
        c = want.setdefault((b.time[:10], b.kind), Counter())
        c["settlements"] += 1
        c["blobs_fetched"] += b.served
        c[_proof(b)] += 1
    got = {(r["day"].isoformat(), r["kind"]): r for r in await _rows(indexed, "select * from og.proof_availability")}
    assert set(got) == set(want)
    for key, c in want.items():
        g = got[key]
        for col in ("settlements", "blobs_fetched", "missing", "consistent", "mismatched", "unparseable"):
            assert g[col] == c[col], (key, col)
        assert (g["unavailable"], g["not_fetched"]) == (0, 0)
        assert float(g["retrievable_consistent_share"]) == pytest.approx(c["consistent"] / c["settlements"])
    cov = {r["day"].isoformat(): r for r in await _rows(indexed, "select * from og.verification_coverage")}
    for (day, kind), c in want.items():
        if kind == "batch":
            assert (cov[day]["batch_settlements"], cov[day]["batch_proofs_consistent"]) == (
                c["settlements"], c["consistent"]), day


async def test_tee_fleet_batch_items_equal_truth(indexed: asyncpg.Pool, truth: GroundTruth) -> None:
    got = {r["tee_id"]: r["batch_items"] for r in await _rows(indexed, "select * from og.tee_fleet")}
    assert {k: v for k, v in got.items() if v} == truth.walrus.tee_batch_items
    assert sum(truth.walrus.tee_batch_items.values()) > 0


async def test_second_enrich_makes_no_request_for_stored_blobs(indexed: asyncpg.Pool, standin: StandIn) -> None:
    before = standin.stats.requests
    result = await enrich(indexed, [standin.url], OPTS)
    assert (result.requested, standin.stats.requests) == (0, before)
    missing = await indexed.fetchval("select count(*) from og.walrus_blobs where status = 'missing'")
    result = await enrich(indexed, [standin.url], OPTS, retry_missing=True)
    assert result.requested == missing and result.outcomes == Counter(missing=missing)
    assert standin.stats.requests == before + 3 * missing


async def _digest(pool: asyncpg.Pool) -> dict[str, tuple[int, str]]:
    out = {}
    for t, key in WALRUS_TABLES.items():
        cols = "x.*" if t != "walrus_blobs" else "x.blob_id, x.status, x.body, x.sha256"
        rec = await pool.fetchrow(f"select count(*) as n, md5(string_agg(({cols})::text, '|' order by {key})) as h"
                                  f" from og.{t} x")
        assert rec is not None
        out[t] = (rec["n"], rec["h"])
    return out


async def test_reparse_rebuilds_identical_tables_without_the_aggregator(indexed: asyncpg.Pool) -> None:
    before = await _digest(indexed)
    result = await enrich(indexed, ["http://127.0.0.1:9"], OPTS, reparse=True)  # nothing listens there
    assert result.requested == 0 and sum(result.derived.values()) > 0
    assert await _digest(indexed) == before


async def test_redecode_keeps_payload_rows_and_enrich_has_nothing_to_do(
    indexed: asyncpg.Pool, devnet_pair: DevnetPair, truth: GroundTruth
) -> None:
    before = await _digest(indexed)
    await sync.redecode(indexed, devnet_config(devnet_pair.urls, truth).chain("opengradient"))
    result = await enrich(indexed, ["http://127.0.0.1:9"], OPTS)  # every blob is stored: no request
    assert (result.requested, sum(result.derived.values())) == (0, 0)
    assert await _digest(indexed) == before


async def test_background_enrichment_keeps_new_blobs_until_stopped(indexed: asyncpg.Pool, standin: StandIn) -> None:
    """What `run` does beside the followers: a pass every interval until the stop event."""
    before = await _digest(indexed)
    some = await indexed.fetch("select blob_id from og.walrus_blobs where status = 'fetched' order by blob_id limit 5")
    async with indexed.acquire() as conn, conn.transaction():  # as if these settlements were new
        await conn.execute("delete from og.walrus_blobs where blob_id = any($1::text[])", [r[0] for r in some])
        await conn.execute("delete from og.walrus_individual where blob_id = any($1::text[])", [r[0] for r in some])
        await conn.execute("delete from og.walrus_batches where blob_id = any($1::text[])", [r[0] for r in some])
    requests = standin.stats.requests
    stop = asyncio.Event()
    task = asyncio.create_task(enrich_forever(indexed, [standin.url], OPTS, stop, interval_s=0.05))
    for _ in range(200):
        await asyncio.sleep(0.05)
        if await indexed.fetchval("select count(*) from og.walrus_blobs") == before["walrus_blobs"][0]:
            break
    stop.set()
    await asyncio.wait_for(task, 10)
    assert standin.stats.requests == requests + 5
    assert await _digest(indexed) == before


async def test_report_section_shows_models_with_tokens_and_proof_availability(
    indexed: asyncpg.Pool, truth: GroundTruth
) -> None:
    async with indexed.acquire() as conn:
        section = await walrus_section(conn, "all")
    top = sorted(truth.walrus.models.items(), key=lambda kv: (-kv[1].inferences, kv[0]))
    assert [(m.model, m.inferences, m.total_tokens) for m in section.models] == [
        (k, t.inferences, t.total_tokens) for k, t in top]
    for p in section.proofs:
        blobs = [b for b in _trusted(truth) if b.kind == p.kind]
        assert (p.settlements, p.consistent, p.missing) == (
            len(blobs), sum(_proof(b) == "consistent" for b in blobs), sum(not b.served for b in blobs))
    text = render_walrus_table(section)
    assert "Proof availability (all" in text and top[0][0] in text


async def test_reorg_removes_derived_rows_and_keeps_the_blobs(indexed: asyncpg.Pool, truth: GroundTruth) -> None:
    """Runs last in this module: it cuts the indexed chain back."""
    served = sorted((b for b in _trusted(truth) if b.served), key=lambda b: b.block)
    fork = served[len(served) // 2].block
    blobs = await indexed.fetchval("select count(*) from og.walrus_blobs")
    async with indexed.acquire() as conn, conn.transaction():
        ancestor = await conn.fetchval("select block_hash from og.blocks where chain_id = $1 and block_number = $2",
                                       OG, fork - 1)
        await store.rollback(conn, OG, fork, ancestor or "0x")
    for t in ("walrus_individual", "walrus_batches", "walrus_batch_leaves"):
        assert await indexed.fetchval(f"select count(*) from og.{t} where block_number >= $1", fork) == 0, t
        assert await indexed.fetchval(f"select count(*) from og.{t} where block_number < $1", fork) > 0, t
    assert await indexed.fetchval("select count(*) from og.walrus_blobs") == blobs
    kept = sum(1 for b in served if b.block < fork)
    assert await indexed.fetchval(
        "select sum(blobs_fetched) from og.proof_availability") == kept


async def test_every_row_of_every_view_reads_as_its_typed_model_with_payloads(indexed: asyncpg.Pool) -> None:
    from test_views_truth import read_every_view_through_its_model

    from indexer.views import VIEWS

    payload_views = {"model_tokens_daily", "proof_availability", "settlement_proofs", "model_usage"}
    await read_every_view_through_its_model(indexed, frozenset(v.TABLE for v in VIEWS) - payload_views)
