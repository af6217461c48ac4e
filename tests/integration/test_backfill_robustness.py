"""Exactly once whatever happens: random sub-ranges, a faulty RPC, SIGKILL, and re-decoding."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipeline_helpers import covered, devnet_config, digest, fresh_pool, head, run_backfill, start_cli
from rpc_proxy import Faults, RpcProxy

from indexer import sync

if TYPE_CHECKING:
    from devnet_fixtures import DevnetPair

pytest_plugins = ("devnet_fixtures",)

OG, BASE = "opengradient", "base"


@pytest.fixture(scope="module")
def chain_heads(devnet_pair: DevnetPair) -> dict[str, int]:
    devnet_pair.simulate(days=2, seed=11)
    return {n: asyncio.run(head(devnet_pair.urls[n])) for n in (OG, BASE)}


@pytest.fixture(scope="module")
def reference(devnet_pair: DevnetPair, chain_heads: dict[str, int], server_dsn: str) -> dict[str, tuple[int, str]]:
    """Table digests of one straightforward backfill of both chains."""

    async def go() -> dict[str, tuple[int, str]]:
        cfg = devnet_config(devnet_pair.urls)
        async with fresh_pool(server_dsn) as pool:
            for n in (OG, BASE):
                await run_backfill(pool, cfg.chain(n), 0, chain_heads[n])
            return await digest(pool)

    d = asyncio.run(go())
    assert d["payments"][0] > 0 and d["settlements"][0] > 0 and d["tee_events"][0] > 0
    return d


ranges = st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 400)), min_size=1, max_size=8)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spans=ranges, seed=st.integers(0, 2**16))
def test_random_subranges_in_random_order_with_repeats_give_identical_tables(
    devnet_pair: DevnetPair,
    chain_heads: dict[str, int],
    reference: dict[str, tuple[int, str]],
    server_dsn: str,
    spans: list[tuple[int, int]],
    seed: int,
) -> None:
    rng = random.Random(seed)

    async def go() -> dict[str, tuple[int, str]]:
        cfg = devnet_config(devnet_pair.urls)
        async with fresh_pool(server_dsn) as pool:
            jobs: list[tuple[str, int, int]] = []
            for name in (OG, BASE):
                top = chain_heads[name]
                for start, length in spans:
                    lo = start % (top + 1)
                    jobs.append((name, lo, min(top, lo + length)))
                jobs.append((name, 0, top))  # completes coverage at a random point
                jobs.append((name, rng.randint(0, top), top))  # a repeat of part of it
            rng.shuffle(jobs)
            for name, lo, hi in jobs:
                chain = replace(cfg.chain(name), max_block_range=rng.choice([7, 50, 1000]))
                await run_backfill(pool, chain, lo, hi, concurrency=rng.randint(1, 4), force=rng.random() < 0.3)
            for name in (OG, BASE):
                assert await covered(pool, cfg.chain(name).chain_id) == [(0, chain_heads[name])]
            return await digest(pool)

    assert asyncio.run(go()) == reference


async def test_faulty_rpc_with_range_cap_429s_timeouts_and_garbage_gives_identical_tables(
    devnet_pair: DevnetPair, chain_heads: dict[str, int], reference: dict[str, tuple[int, str]], server_dsn: str
) -> None:
    cfg = devnet_config(devnet_pair.urls)
    async with fresh_pool(server_dsn) as pool:
        for name in (OG, BASE):
            faults = Faults(max_range=37, rate=0.25, timeout_s=1.5, seed=3)
            proxy = await RpcProxy(devnet_pair.urls[name], faults).start()
            try:
                chain = replace(cfg.chain(name), rpc_urls=(proxy.url,), max_block_range=500)
                r = await run_backfill(
                    pool, chain, 0, chain_heads[name], client={"timeout_s": 0.5, "retries": 12}, concurrency=3
                )
            finally:
                await proxy.stop()
            assert proxy.refused_ranges > 0
            assert set(proxy.injected) == set(faults.kinds), proxy.injected
            assert r.blocks == chain_heads[name] + 1
        assert await digest(pool) == reference


async def test_rpc_that_never_recovers_fails_with_a_clear_error_and_writes_nothing(
    devnet_pair: DevnetPair, chain_heads: dict[str, int], server_dsn: str
) -> None:
    cfg = devnet_config(devnet_pair.urls)
    proxy = await RpcProxy(devnet_pair.urls[BASE], Faults(rate=1.0, kinds=("bad_result",))).start()
    try:
        async with fresh_pool(server_dsn) as pool:
            chain = replace(cfg.chain(BASE), rpc_urls=(proxy.url,))
            with pytest.raises(Exception, match="failed after 3 attempts"):
                await run_backfill(pool, chain, 0, chain_heads[BASE], client={"retries": 2})
            assert await pool.fetchval("select count(*) from og.raw_logs") == 0
            assert await covered(pool, 8453) == []
    finally:
        await proxy.stop()


async def test_sigkill_mid_backfill_then_restart_gives_identical_tables(
    devnet_pair: DevnetPair,
    chain_heads: dict[str, int],
    reference: dict[str, tuple[int, str]],
    server_dsn: str,
    tmp_path: Path,
) -> None:
    conf = tmp_path / "small-ranges.toml"
    conf.write_text("[chains.opengradient]\nmax_block_range = 5\n[chains.base]\nmax_block_range = 5\n")
    async with fresh_pool(server_dsn) as pool:
        dsn = pool._connect_args[0]  # type: ignore[attr-defined]
        env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "OG_RPC_URL": devnet_pair.urls[OG],
            "BASE_RPC_URL": devnet_pair.urls[BASE],
            "OG_INDEXER_CONFIG": str(conf),
        }
        for name in (OG, BASE):
            top = chain_heads[name]
            args = ["backfill", "--chain", name, "--from", "0", "--to", str(top), "--concurrency", "2"]
            proc = start_cli(args, env)
            deadline = time.monotonic() + 60
            done = 0
            while time.monotonic() < deadline and proc.poll() is None:
                done = await pool.fetchval(
                    "select coalesce(sum(to_block - from_block + 1), 0) from og.indexed_ranges where chain_id = $1",
                    10740 if name == OG else 8453,
                )
                if done >= top // 3:
                    break
                await asyncio.sleep(0.02)
            assert proc.poll() is None, "backfill finished before it could be killed"
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            assert 0 < done <= top
            out = start_cli(args, env)
            stdout, stderr = out.communicate(timeout=120)
            assert out.returncode == 0, stderr.decode()
            assert "already indexed" in stdout.decode()
        assert await digest(pool) == reference


async def test_redecode_turns_logs_kept_raw_into_rows_without_rpc(
    devnet_pair: DevnetPair, chain_heads: dict[str, int], reference: dict[str, tuple[int, str]], server_dsn: str
) -> None:
    """An ABI missing at index time (the registry's) is added later: redecode, no re-fetch."""
    full = devnet_config(devnet_pair.urls)
    og = full.chain(OG)
    crippled = replace(
        og,
        contracts=tuple(
            replace(c, abi_files=("TEERegistry_historical_variants.json",)) if c.role == "tee_registry" else c
            for c in og.contracts
        ),
    )
    async with fresh_pool(server_dsn) as pool:
        await run_backfill(pool, crippled, 0, chain_heads[OG])
        await run_backfill(pool, full.chain(BASE), 0, chain_heads[BASE])
        unknown = await pool.fetchval("select count(*) from og.raw_logs where status = 'unknown_topic'")
        assert unknown > reference["tee_events"][0] // 2
        assert await pool.fetchval("select count(*) from og.tees") == 0
        dead = replace(og, rpc_urls=("http://127.0.0.1:9",))  # any RPC call would fail
        counts = await sync.redecode(pool, dead)
        assert counts["tee_events"] == reference["tee_events"][0]
        got, want = dict(await digest(pool)), dict(reference)
        # Transactions of logs no ABI knew at index time were fetched as context for this redecode,
        # beyond those the full ABIs' rows read: og.transactions holds more, every other table equal.
        assert got.pop("transactions")[0] > want.pop("transactions")[0]
        assert got == want
