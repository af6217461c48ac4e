"""Issue #17: other merchants' x402 traffic through the same proxies, at 10x OpenGradient's volume,
changes no call og-indexer makes and no row it stores (the proxies' logs are read in our payments' blocks,
by block hash, and kept for our payment transactions only)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest
from pipeline_helpers import CONTENT_TABLES, devnet_config, fresh_pool, head

from indexer.config import BASE
from indexer.devnet.actors import FOREIGN_TOKEN
from indexer.devnet.anvil_client import AnvilClient
from indexer.rpc import BY_BLOCK_HASH, RpcClient
from indexer.sync import backfill

if TYPE_CHECKING:
    from devnet_fixtures import DevnetPair

pytest_plugins = ("devnet_fixtures",)
pytestmark = pytest.mark.integration

PROXIES = sorted(a for c in BASE.contracts if c.in_read_transactions for a in c.addresses)


async def _rows(pool: asyncpg.Pool) -> dict[str, tuple[int, str]]:
    """(row count, md5 of every row in key order) per og table of Base, block hashes left out: the
    others' transactions share OpenGradient's blocks, so those blocks' hashes differ, nothing else."""
    out: dict[str, tuple[int, str]] = {}
    for t in (*CONTENT_TABLES, "blocks"):
        key = "block_number" if t == "blocks" else "registry, tee_id" if t == "tees" else (
            "block_number, " + ("tx_index" if t == "transactions" else "log_index"))
        rec = await pool.fetchrow(
            f"select count(*) as n, md5(string_agg((to_jsonb(x) - 'block_hash' - 'parent_hash')::text, '|'"
            f" order by {key})) as h from og.{t} x where chain_id = {BASE.chain_id}"
        )
        assert rec is not None
        out[t] = (rec["n"], rec["h"] or "")
    return out


async def _index_base(pair: DevnetPair, server_dsn: str, foreign_x402: int) -> dict[str, Any]:
    """Simulate with foreign_x402, backfill Base into a new database; what was fetched and stored."""
    truth = pair.simulate(days=2, seed=11, foreign_x402=foreign_x402)
    with AnvilClient(pair.base.url) as node:  # what the chain holds at the proxies, ours or not
        on_chain = len(node.call("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": PROXIES}]))
    chain = devnet_config(pair.urls, truth).chain("base")
    async with fresh_pool(server_dsn) as pool:
        async with RpcClient(chain.rpc_urls, chain_name="base", backoff_s=0.01) as rpc:
            await backfill(rpc, pool, chain, 0, await head(pair.base.url), concurrency=1)
            calls = Counter({m: n for m, n in rpc.stats.calls.items() if m.startswith("eth_")})
        tables = await _rows(pool)
        events = [dict(r) for r in await pool.fetch(
            "select e.*, p.tx_hash is not null as of_payment from og.x402_events e"
            " left join og.payments p on p.tx_hash = e.tx_hash and p.is_x402")]
        payments = await pool.fetchval("select count(*) from og.payments where is_x402")
    return {"truth": truth.to_json(), "tables": tables, "calls": calls, "events": events,
            "on_chain": on_chain, "payments": payments}


async def test_foreign_x402_traffic_at_10x_changes_no_row_and_no_rpc_cost(
    devnet_pair: DevnetPair, server_dsn: str
) -> None:
    alone = await _index_base(devnet_pair, server_dsn, 0)
    crowded = await _index_base(devnet_pair, server_dsn, 10)
    # The chain really carries the others' settlements: 10x ours through the same proxies.
    assert crowded["on_chain"] >= alone["on_chain"] + 10 * alone["payments"]
    assert crowded["truth"] == alone["truth"]  # none of it is OpenGradient's
    assert crowded["tables"] == alone["tables"]
    assert {t for t, (n, _) in alone["tables"].items() if n} >= {"payments", "x402_events", "transactions", "blocks"}
    # og.x402_events: proxy logs of OpenGradient's payment transactions only, none in the foreign token.
    assert crowded["events"] and all(e["of_payment"] for e in crowded["events"])
    assert not [e for e in crowded["events"] if e["token"] == FOREIGN_TOKEN]
    # RPC cost: eth_* calls by method within 5 % (here: the same); one eth_getLogs by block hash per
    # block holding a payment, at most one per payment transaction.
    for method in alone["calls"] | crowded["calls"]:
        assert abs(crowded["calls"][method] - alone["calls"][method]) <= 0.05 * alone["calls"][method], method
    assert 0 < alone["calls"][BY_BLOCK_HASH] <= alone["calls"]["eth_getTransactionByHash"]
