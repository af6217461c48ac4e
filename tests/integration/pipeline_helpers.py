"""Helpers for pipeline tests: config for a devnet pair, table digests, ground-truth projections."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
from dbutil import scratch_database

from indexer.config import ChainConfig, Config, load_config
from indexer.db import create_pool
from indexer.rpc import RpcClient
from indexer.sync import BackfillResult, backfill

if TYPE_CHECKING:
    from indexer.devnet.truth import GroundTruth

# Tables whose content must not depend on how the block range was split or ordered.
CONTENT_TABLES = (
    "raw_logs",
    "transactions",
    "settlements",
    "inferences",
    "tee_events",
    "tees",
    "payments",
    "approvals",
    "x402_events",
    "token_transfers",
)


def devnet_config(urls: dict[str, str], truth: GroundTruth | None = None, **chain_changes: Any) -> Config:
    cfg = load_config(None, {"OG_RPC_URL": urls["opengradient"], "BASE_RPC_URL": urls["base"]})
    chains = dict(cfg.chains)
    if truth is not None:
        chains["opengradient"] = replace(chains["opengradient"], trusted_relayers=tuple(truth.actors.relayers))
        f = truth.funding_actors
        chains["base"] = replace(chains["base"], insiders=f.insiders, markets=f.markets, bridges=f.bridges)
    for name, changes in chain_changes.items():
        chains[name] = replace(chains[name], **changes)
    return replace(cfg, chains=chains)


async def run_backfill(
    pool: asyncpg.Pool, chain: ChainConfig, lo: int, hi: int, client: dict[str, Any] | None = None, **kw: Any
) -> BackfillResult:
    opts: dict[str, Any] = {"backoff_s": 0.01, **(client or {})}
    async with RpcClient(chain.rpc_urls, chain_name=chain.name, **opts) as rpc:
        return await backfill(rpc, pool, chain, lo, hi, **kw)


@contextlib.asynccontextmanager
async def fresh_pool(server_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a new migrated database of the test server, dropped on exit."""
    async with scratch_database(server_dsn) as dsn:
        pool = await create_pool(dsn)
        try:
            yield pool
        finally:
            await pool.close()


async def head(url: str) -> int:
    async with RpcClient([url]) as rpc:
        return await rpc.block_number()


async def digest(pool: asyncpg.Pool) -> dict[str, tuple[int, str]]:
    """(row count, md5 of all rows in key order) per content table."""
    out: dict[str, tuple[int, str]] = {}
    for t in CONTENT_TABLES:
        key = (
            "chain_id, registry, tee_id"
            if t == "tees"
            else "chain_id, block_number, " + ("tx_index" if t == "transactions" else "log_index")
        )
        rec = await pool.fetchrow(
            f"select count(*) as n, md5(string_agg(x::text, '|' order by {key})) as h from og.{t} x"
        )
        assert rec is not None
        out[t] = (rec["n"], rec["h"] or "")
    return out


async def covered(pool: asyncpg.Pool, chain_id: int) -> list[tuple[int, int]]:
    recs = await pool.fetch(
        "select from_block, to_block from og.indexed_ranges where chain_id = $1 order by from_block", chain_id
    )
    return [(r["from_block"], r["to_block"]) for r in recs]


def start_cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The installed og-indexer command in a child process (so it can be SIGKILLed)."""
    exe = Path(sys.executable).parent / "og-indexer"
    return subprocess.Popen([str(exe), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
