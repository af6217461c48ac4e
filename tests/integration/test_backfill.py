"""Backfill on real anvil chains into real Postgres: tables equal the simulator's ground truth."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import asyncpg
import pytest
from pipeline_helpers import covered, devnet_config, digest, head, run_backfill

from indexer import sync
from indexer.config import BASE, OPENGRADIENT

if TYPE_CHECKING:
    from devnet_fixtures import DevnetPair

    from indexer.devnet.truth import GroundTruth

pytest_plugins = ("devnet_fixtures",)


@pytest.fixture(scope="module")
def simulated(devnet_pair: DevnetPair) -> GroundTruth:
    """A 3-day simulation shared by the read-only tests of this module."""
    return devnet_pair.simulate(days=3, seed=7)


async def _index_all(pool: asyncpg.Pool, pair: DevnetPair, truth: GroundTruth, **kw: object) -> None:
    cfg = devnet_config(pair.urls, truth)
    for name in ("opengradient", "base"):
        await run_backfill(pool, cfg.chain(name), 0, await head(pair.urls[name]), **kw)


def _dec(v: object) -> str | None:
    return None if v is None else str(int(v))  # type: ignore[call-overload]


async def test_backfill_matches_ground_truth_exactly(
    pool: asyncpg.Pool, devnet_pair: DevnetPair, simulated: GroundTruth
) -> None:
    truth = simulated
    await _index_all(pool, devnet_pair, truth, concurrency=3)

    got_payments = Counter(
        (
            r["block_number"],
            r["payer"],
            r["payee"],
            _dec(r["amount_raw"]),
            r["is_x402"],
            r["scheme"],
            r["proxy"],
            r["facilitator"],
            r["settle_owner"],
            _dec(r["settle_amount_raw"]),
            _dec(r["session_cap_raw"]),
            r["tx_from"],
        )
        for r in await pool.fetch("select * from og.payments")
    )
    want_payments = Counter(
        (
            p.block,
            p.payer,
            p.payee,
            p.amount_raw,
            p.is_x402,
            p.scheme,
            p.proxy,
            p.facilitator,
            p.settle_owner,
            p.settle_amount_raw,
            p.session_cap_raw,
            p.tx_from,
        )
        for p in truth.payments
    )
    assert got_payments == want_payments
    assert sum(1 for p in truth.payments if p.is_x402) > 20 and any(not p.is_x402 for p in truth.payments)

    got_approvals = Counter(
        (r["block_number"], r["owner"], r["spender"], _dec(r["value_raw"]), r["to_permit2"])
        for r in await pool.fetch("select * from og.approvals")
    )
    assert got_approvals == Counter((a.block, a.owner, a.spender, a.value_raw, a.to_permit2) for a in truth.approvals)

    got_x402 = Counter(
        (r["block_number"], r["proxy"], r["scheme"], r["event"], r["token"], r["owner"], r["reason"])
        for r in await pool.fetch("select * from og.x402_events")
    )
    assert got_x402 == Counter(
        (e.block, e.proxy, e.scheme, e.event, e.token, e.owner, e.reason) for e in truth.x402_events
    )

    got_settlements = Counter(
        (
            r["block_number"],
            r["relay"],
            r["kind"],
            int(r["inferences"]),
            _dec(r["batch_size"]),
            r["merkle_root"],
            r["tee_id"],
            r["eth_address"],
            r["walrus_blob_id"],
            r["verified_on_chain"],
            r["model"],
            r["tx_from"],
            r["trusted"],
        )
        for r in await pool.fetch("select * from og.settlements")
    )
    want_settlements = Counter(
        (
            s.block,
            s.relay,
            s.kind,
            s.inferences,
            _dec(s.batch_size),
            s.merkle_root,
            s.tee_id,
            s.eth_address,
            s.walrus_blob_id,
            s.verified_on_chain,
            s.model,
            s.tx_from,
            s.trusted,
        )
        for s in truth.settlements
    )
    assert got_settlements == want_settlements
    assert {s.kind for s in truth.settlements} >= {"batch", "individual", "legacy_metadata"}

    # one inference per precompile event; hub/workflow echoes in the same transaction are not extra
    got_inferences = Counter(
        (r["block_number"], r["model"], r["mode"], r["mode_name"], r["payer"], r["event"], r["inference_id"])
        for r in await pool.fetch("select * from og.inferences")
    )
    want_inferences = Counter(
        (i.block, i.model, i.mode, i.mode_name, i.payer, i.event, i.inference_id)
        for i in truth.inferences
        if i.source == "precompile"
    )
    assert got_inferences == want_inferences

    got_tees = {
        r["tee_id"]: (
            r["registry"],
            r["owner"],
            r["tee_type"],
            r["enabled"],
            r["heartbeats"],
            r["last_heartbeat_at"].strftime("%Y-%m-%dT%H:%M:%SZ") if r["last_heartbeat_at"] else None,
            r["registered_at"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            r["payment_address"],
            r["endpoint"],
        )
        for r in await pool.fetch("select * from og.tees")
    }
    want_tees = {
        t.tee_id: (
            t.registry,
            t.owner,
            t.tee_type,
            t.enabled,
            t.heartbeats,
            t.last_heartbeat_at,
            t.registered_at,
            t.payment_address,
            t.endpoint,
        )
        for t in truth.tees
    }
    assert got_tees == want_tees
    assert {t.fate for t in truth.tees} >= {"live", "dead", "disabled"}

    # undecodable logs are kept raw and counted, the rest is indexed
    got_raw = Counter(
        (r["block_number"], r["address"], r["status"], r["topic0"])
        for r in await pool.fetch("select * from og.raw_logs where status <> 'decoded'")
    )
    assert got_raw == Counter((a.block, a.address, a.status, a.topic0) for a in truth.anomalies)
    assert {a.status for a in truth.anomalies} == {"unknown_topic", "decode_error"}

    # every log of the window is in raw_logs, by contract role and event
    roles = {a: c.role for ch in (OPENGRADIENT, BASE) for c in ch.contracts for a in c.addresses}
    for name, chain in (("opengradient", OPENGRADIENT), ("base", BASE)):
        recs = await pool.fetch(
            "select address, event, count(*) as n from og.raw_logs where chain_id = $1 and status = 'decoded' "
            "group by 1, 2",
            chain.chain_id,
        )
        got = Counter()
        for r in recs:
            got[f"{roles[r['address']]}.{r['event']}"] += r["n"]
        assert dict(got) == truth.chains[name].event_counts, name


async def test_backfill_again_writes_nothing_new(
    pool: asyncpg.Pool, devnet_pair: DevnetPair, simulated: GroundTruth
) -> None:
    await _index_all(pool, devnet_pair, simulated)
    before = await digest(pool)
    cfg = devnet_config(devnet_pair.urls, simulated)
    og = cfg.chain("opengradient")
    top = await head(devnet_pair.urls["opengradient"])
    again = await run_backfill(pool, og, 0, top)
    assert again.blocks == 0 and again.skipped_blocks == top + 1  # nothing fetched at all
    forced = await run_backfill(pool, og, 0, top, force=True)
    assert forced.logs > 0 and sum(forced.written.values()) == 0  # fetched again, nothing new written
    assert await digest(pool) == before
    assert await covered(pool, og.chain_id) == [(0, top)]


async def test_backfill_rejects_inverted_range(pool: asyncpg.Pool, devnet_pair: DevnetPair) -> None:
    cfg = devnet_config(devnet_pair.urls)
    with pytest.raises(sync.SyncError, match="above"):
        await run_backfill(pool, cfg.chain("base"), 10, 5)
