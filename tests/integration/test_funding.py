"""The funding trace (issue #14) equals the simulator's ground truth; a reorg moves a payer's class."""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest
from pipeline_helpers import devnet_config, fresh_pool, head, run_backfill

from indexer import funding
from indexer.config import BASE
from indexer.devnet.actors import DEX_POOL, DISPERSER, TREASURY
from indexer.devnet.anvil import DEFAULT_GENESIS, anvil_args, find_anvil, free_port, stop_pid, wait_ready
from indexer.devnet.anvil_client import AnvilClient as DevRpc
from indexer.devnet.contracts import install_chain
from indexer.devnet.plan import PlannedTx, event, mine_plan
from indexer.follow import Follower, FollowOptions
from indexer.rpc import RpcClient

if TYPE_CHECKING:
    from devnet_fixtures import DevnetPair

    from indexer.devnet.truth import GroundTruth

pytest_plugins = ("devnet_fixtures",)

WEI = Decimal(10) ** 18
CLASSES = ("insider", "market", "bridge_or_mint", "contract", "eoa", "unknown")


@pytest.fixture(scope="module")
def truth(devnet_pair: DevnetPair) -> GroundTruth:
    return devnet_pair.simulate(days=3, seed=14)


@pytest.fixture(scope="module")
async def indexed(devnet_pair: DevnetPair, truth: GroundTruth, server_dsn: str) -> AsyncIterator[Any]:
    """Base indexed, then the funding trace refreshed twice: (pool, first result, its RPC stats, second)."""
    chain = devnet_config(devnet_pair.urls, truth).chain("base")
    async with fresh_pool(server_dsn) as pool:
        await run_backfill(pool, chain, 0, await head(devnet_pair.urls["base"]))
        async with RpcClient(chain.rpc_urls, chain_name=chain.name, max_batch=50) as rpc, pool.acquire() as conn:
            first = await funding.refresh(conn, rpc, chain)
            stats = (rpc.stats.calls["eth_getCode"], rpc.stats.http_requests)
            second = await funding.refresh(conn, rpc, chain)
        yield pool, first, stats, second


def _opg(raw: str | int) -> Decimal:
    return Decimal(int(raw)) / WEI


async def test_every_opg_transfer_is_typed_with_mints_marked(indexed: Any, truth: GroundTruth) -> None:
    pool = indexed[0]
    got = Counter(
        (r["block_number"], r["from_address"], r["to_address"], int(r["amount_raw"]), r["kind"])
        for r in await pool.fetch("select * from og.token_transfers")
    )
    want = Counter((t.block, t.from_address, t.to_address, int(t.amount_raw), t.kind) for t in truth.token_transfers)
    assert got == want
    assert {t.kind for t in truth.token_transfers} == {"mint", "transfer"}
    # og.payments keeps exactly the transfers to payTo, unchanged
    to_pay_to = sum(1 for t in truth.token_transfers if t.to_address in BASE.pay_to)
    assert await pool.fetchval("select count(*) from og.payments") == to_pay_to == len(truth.payments)


async def test_payer_funding_equals_truth(indexed: Any, truth: GroundTruth) -> None:
    pool = indexed[0]
    got = {r["payer"]: r for r in await pool.fetch("select * from og.payer_funding")}
    assert set(got) == set(truth.payers) == set(truth.funding)
    for payer, f in truth.funding.items():
        g = got[payer]
        assert (g["funding_class"], g["class_hop"], g["class_funder"]) == (
            f.funding_class, f.class_hop, f.class_funder), (payer, f.flow)
        assert (g["first_funder"], g["first_funder_class"]) == (f.first_funder, f.first_funder_class), f.flow
        assert g["funded_opg"] == _opg(f.funded_amount_raw), f.flow
        assert g["funding_transfers"] == f.funding_transfers, f.flow
        assert g["recycled_payments"] == f.recycled_payments, f.flow
    classes = Counter(f.funding_class for f in truth.funding.values())
    assert set(classes) == set(CLASSES)  # the simulation exercises every class
    assert sum(1 for f in truth.funding.values() if f.recycled_payments) == 1


async def test_get_code_is_one_batched_call_per_distinct_unlabelled_funder(indexed: Any, truth: GroundTruth) -> None:
    pool, first, (calls, requests), second = indexed
    labelled = {*truth.funding_actors.insiders, *truth.funding_actors.markets, *BASE.pay_to, "0x" + "0" * 40}
    payers = set(truth.funding)
    hop1 = {t.from_address for t in truth.token_transfers if t.to_address in payers} - labelled - payers
    hop2 = {t.from_address for t in truth.token_transfers if t.to_address in hop1} - labelled
    unlabelled = hop1 | hop2  # (every transfer to a funder in the simulation precedes its funding)
    assert first.checked == calls == len(unlabelled)
    assert requests == -(-calls // 50)  # batches of 50
    assert first.contracts == len(truth.funding_actors.contracts)
    assert second.checked == 0  # cached: looked up once per address
    assert await pool.fetchval("select count(*) from og.funding_transfers where funder_class = 'unknown'") == 0


async def test_demand_quality_equals_truth(indexed: Any, truth: GroundTruth) -> None:
    pool = indexed[0]
    cls = {p: f.funding_class for p, f in truth.funding.items()}
    recycled = {p for p, f in truth.funding.items() if f.recycled_payments}
    want: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    payers: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for p in truth.x402_payments:
        day, c, amount = p.time[:10], cls[p.payer], _opg(p.amount_raw)
        w = want[day]
        w["payments"] += 1
        w["revenue_opg"] += amount
        w[f"payments_{c}"] += 1
        w[f"revenue_opg_{c}"] += amount
        payers[day]["all"].add(p.payer)
        payers[day][c].add(p.payer)
        if c != "insider":
            w["organic_payments"] += 1
            payers[day]["organic"].add(p.payer)
        if p.payer in recycled:
            w["recycled_payments"] += 1
            w["recycled_revenue_opg"] += amount
    got = {r["day"].isoformat(): r for r in await pool.fetch("select * from og.demand_quality")}
    assert set(got) == set(want)
    for day, w in want.items():
        g = got[day]
        for key in ("payments", "revenue_opg", "organic_payments", "recycled_payments", "recycled_revenue_opg",
                    *(f"payments_{c}" for c in CLASSES), *(f"revenue_opg_{c}" for c in CLASSES)):
            assert g[key] == w[key], (day, key)
        assert g["payers"] == len(payers[day]["all"])
        assert g["organic_payers"] == len(payers[day]["organic"])
        for c in CLASSES:
            assert g[f"payers_{c}"] == len(payers[day][c]), (day, c)
        assert abs(g["recycled_share"] - w["recycled_revenue_opg"] / w["revenue_opg"]) < Decimal("1e-18")


async def test_payer_stats_and_retention_carry_the_funding_class(indexed: Any, truth: GroundTruth) -> None:
    pool = indexed[0]
    stats = {r["payer"]: r["funding_class"] for r in await pool.fetch("select * from og.payer_stats")}
    assert stats == {p: f.funding_class for p, f in truth.funding.items()}
    by_class: Counter[tuple[Any, int]] = Counter()
    for r in await pool.fetch("select * from og.payer_retention_by_funding"):
        by_class[(r["cohort_week"], r["week_offset"])] += r["active_payers"]
    overall = {(r["cohort_week"], r["week_offset"]): r["active_payers"]
               for r in await pool.fetch("select * from og.payer_retention")}
    assert dict(by_class) == overall
    sizes = Counter(f.funding_class for f in truth.funding.values())
    got: Counter[str] = Counter()
    for r in await pool.fetch("select * from og.payer_retention_by_funding where week_offset = 0"):
        got[r["funding_class"]] += r["cohort_size"]
    assert got == sizes


# --- a reorg that removes a funding transfer ------------------------------------------------------

TOKEN = BASE.addresses_with_role("token")[0]
UPTO = BASE.addresses_with_role("x402_upto")[0]
ERC20 = "OPG_ERC20_Base.json"
T0 = 1_778_000_000
FAST = FollowOptions(poll_min_s=0.05, poll_max_s=0.2, live_span=50, stall_after_s=30)
P1, P2, WALLET = "0x" + "a1" * 20, "0x" + "a2" * 20, "0x" + "b0" * 20


def _transfer(ts: int, frm: str, to: str, amount: int, tx_to: str = TOKEN) -> PlannedTx:
    return PlannedTx(ts, frm, tx_to, b"", (event(BASE, TOKEN, ERC20, "Transfer", frm, to, amount),))


def _pay(ts: int, payer: str) -> PlannedTx:
    emits = (event(BASE, TOKEN, ERC20, "Transfer", payer, BASE.pay_to[0], 10**16),
             event(BASE, UPTO, "x402UptoPermit2Proxy.json", "Settled"))
    return PlannedTx(ts, "0x" + "fa" * 20, UPTO, b"", emits)


def _mine(url: str, txs: Sequence[PlannedTx]) -> None:
    with DevRpc(url) as rpc:
        mine_plan(rpc, txs)


async def _follow_to(f: Follower, target: int) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(f.run(stop))
    try:
        async with asyncio.timeout(30):
            while f.stats.tip != target or f.stats.head != target:
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task


async def _classes(pool: asyncpg.Pool) -> dict[str, tuple[str, str | None]]:
    return {r["payer"]: (r["funding_class"], r["class_funder"])
            for r in await pool.fetch("select payer, funding_class, class_funder from og.payer_funding")}


async def test_reorg_removing_a_funding_transfer_changes_the_payers_class(devnet: DevnetPair, server_dsn: str) -> None:
    url = devnet.urls["base"]
    chain = replace(devnet_config(devnet.urls).chain("base"), finality_depth=8, insiders=(TREASURY,),
                    markets=(DEX_POOL,))
    _mine(url, [
        _transfer(T0 + 60, DEX_POOL, P1, 10**18, tx_to=DEX_POOL),  # block 1: P1 buys on the market
        _transfer(T0 + 120, TREASURY, P1, 10**18),  # block 2: the treasury tops P1 up
        _transfer(T0 + 120, WALLET, P2, 10**18),  # block 2: a plain wallet funds P2
        _pay(T0 + 180, P1), _pay(T0 + 180, P2),  # block 3: both pay
    ])
    async with fresh_pool(server_dsn) as pool, RpcClient([url]) as rpc:
        f = Follower(rpc, pool, chain, FAST)
        await _follow_to(f, 3)
        async with pool.acquire() as conn:
            assert (await funding.refresh(conn, rpc, chain)).checked == 1  # WALLET
        assert await _classes(pool) == {P1: ("insider", TREASURY), P2: ("eoa", WALLET)}
        # blocks 2 and 3 are replaced: the top-up and P2's funding never happened
        with DevRpc(url) as dev:
            dev.call("anvil_rollback", [2])
        _mine(url, [_pay(T0 + 600, P1), _pay(T0 + 660, P2), _pay(T0 + 720, P1)])  # blocks 2, 3, 4
        await _follow_to(f, 4)
        assert f.stats.reorgs == 1
        assert await _classes(pool) == {P1: ("market", DEX_POOL), P2: ("unknown", None)}
        # the code read at a block the reorg removed is gone with it
        assert await pool.fetchval("select count(*) from og.address_code") == 0
        assert await pool.fetchval("select count(*) from og.token_transfers where to_address = $1", P2) == 0


async def test_report_shows_demand_by_funding_class_and_organic_returning_payers(
    indexed: Any, truth: GroundTruth
) -> None:
    from indexer.report import build_report, render_table

    pool = indexed[0]
    async with pool.acquire() as conn:
        report = await build_report(conn, "all")
    f = report.funding
    assert f is not None
    organic = [p for p, v in truth.funding.items() if v.funding_class != "insider"]
    assert f.organic_payers == len(organic)
    assert f.organic_returning_payers == sum(1 for p in organic if truth.payers[p].returning) > 0
    assert {line.funding_class: line.payers for line in f.by_class} == {
        c: sum(1 for v in truth.funding.values() if v.funding_class == c) for c in CLASSES
    }
    assert f.recycled_payments == sum(v.recycled_payments for v in truth.funding.values())
    assert f.unclassified_funders == 0
    text = render_table(report, width=140)
    assert "organic returning payers" in text and "Where the payers' OPG came from" in text
    assert any("two transfers back" in c for c in report.caveats)


async def test_code_is_read_at_the_head_where_the_node_keeps_no_old_state(server_dsn: str) -> None:
    """anvil --prune-history keeps one state, as a non-archive node keeps few: the funding blocks'
    eth_getCode is refused, so the code is read at the head, and the row names that block."""
    port = free_port()
    args = [*anvil_args(find_anvil(), BASE.chain_id, port, DEFAULT_GENESIS), "--prune-history", "1"]
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, BASE.chain_id, 20.0, proc)
        with DevRpc(url) as dev:
            install_chain(dev)
            mine_plan(dev, [
                _transfer(T0 + 60, DISPERSER, P1, 10**18, tx_to=DISPERSER),  # block 1: a contract funds P1
                _transfer(T0 + 60, WALLET, P2, 10**18),  # block 1: a wallet funds P2
                _pay(T0 + 120, P1), _pay(T0 + 120, P2),  # block 2
            ], extra_times=[T0 + 180, T0 + 240, T0 + 300])  # blocks 3-5: block 1's state is gone
        chain = replace(BASE, rpc_urls=(url,))
        async with fresh_pool(server_dsn) as pool:
            await run_backfill(pool, chain, 0, 5)
            async with RpcClient([url]) as rpc, pool.acquire() as conn:
                assert (await funding.refresh(conn, rpc, chain)).checked == 2
                assert rpc.stats.calls["eth_getCode"] == 4  # refused at block 1, then at the head
            codes = {r["address"]: (r["block_number"], r["code_size"] > 0)
                     for r in await pool.fetch("select * from og.address_code")}
            assert codes == {DISPERSER: (5, True), WALLET: (5, False)}
            assert await _classes(pool) == {P1: ("contract", DISPERSER), P2: ("eoa", WALLET)}
    finally:
        stop_pid(proc.pid, port)


async def test_run_keeps_classifying_new_payers_in_the_background(server_dsn: str) -> None:
    """`run`'s funding upkeep (funding.refresh_forever): a payer indexed after the service started
    is classified by a later pass, without a `funding` command."""
    port = free_port()
    proc = subprocess.Popen(anvil_args(find_anvil(), BASE.chain_id, port, DEFAULT_GENESIS),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    second_wallet = "0x" + "b1" * 20
    try:
        wait_ready(url, BASE.chain_id, 20.0, proc)
        with DevRpc(url) as dev:
            install_chain(dev)
            mine_plan(dev, [_transfer(T0 + 60, WALLET, P1, 10**18), _pay(T0 + 120, P1)])  # blocks 1-2
        chain = replace(BASE, rpc_urls=(url,))
        async with fresh_pool(server_dsn) as pool:
            await run_backfill(pool, chain, 0, 2)
            stop = asyncio.Event()
            upkeep = asyncio.create_task(funding.refresh_forever(pool, [chain], stop, interval_s=0.05))
            try:
                async with asyncio.timeout(20):
                    while await _classes(pool) != {P1: ("eoa", WALLET)}:
                        await asyncio.sleep(0.05)
                with DevRpc(url) as dev:  # a new payer, funded by another wallet, while the upkeep runs
                    mine_plan(dev, [_transfer(T0 + 180, second_wallet, P2, 10**18), _pay(T0 + 240, P2)])
                await run_backfill(pool, chain, 3, 4)
                async with asyncio.timeout(20):
                    while (await _classes(pool)).get(P2) != ("eoa", second_wallet):
                        await asyncio.sleep(0.05)
            finally:
                stop.set()
                await upkeep
            assert await pool.fetchval("select count(*) from og.address_code") == 2
    finally:
        stop_pid(proc.pid, port)
