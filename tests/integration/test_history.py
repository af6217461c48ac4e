"""Where history begins: contracts placed at known blocks on anvil are found by bisecting eth_getCode,
stored once, and backfill starts there; a node without historical state falls back to the
configured start and says why."""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from click.testing import CliRunner
from test_span_density import _send, _transfers

from indexer import history, store
from indexer.cli import main
from indexer.config import BASE, load_config
from indexer.devnet.anvil import AnvilNode, anvil_args, find_anvil, free_port, start_anvil, stop_pid, wait_ready
from indexer.devnet.anvil_client import AnvilClient as DevRpc
from indexer.devnet.emitter import runtime_code
from indexer.rpc import RpcClient

TOKEN = BASE.addresses_with_role("token")[0].lower()
# Searched: the contracts fetched by eth_getLogs. The x402 proxies are read in our transactions only and
# are placed on chain too, but never searched: they do not say where history begins.
WATCHED = sorted({a for c in BASE.contracts if c.by_get_logs for a in c.addresses})
PROXIES = sorted({a for c in BASE.contracts if c.in_read_transactions for a in c.addresses})


def _set_code(rpc: DevRpc, address: str) -> int:
    """Emitter code at address from the current head on; returns that block."""
    rpc.call("anvil_setCode", [address, "0x" + runtime_code().hex()])
    return int(rpc.call("eth_blockNumber"), 16)


def _cli(args: list[str], dsn: str, url: str) -> str:
    result = CliRunner().invoke(main, args, env={"DATABASE_URL": dsn, "BASE_RPC_URL": url}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


async def _resolve(dsn: str, url: str) -> tuple[history.HistoryStart, int]:
    chain = load_config(None, {"BASE_RPC_URL": url}).chain("base")
    conn = await asyncpg.connect(dsn)
    try:
        await store.migrate(conn)
        async with RpcClient([url], chain_name="base") as rpc:
            start = await history.resolve(rpc, conn, chain, await rpc.block_number())
            return start, rpc.stats.calls["eth_getCode"]
    finally:
        await conn.close()


async def _first_code_block(url: str, address: str, lo: int, hi: int) -> tuple[int | None, int]:
    async with RpcClient([url], chain_name="base") as rpc:
        return await history.first_code_block(rpc, address, lo, hi)


async def _fetch(dsn: str, sql: str) -> list[Any]:
    conn = await asyncpg.connect(dsn)
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


EMPTY = 100_000  # empty blocks before anything is deployed


@pytest.fixture
def node() -> Iterator[AnvilNode]:
    """A Base node whose chain opens with EMPTY empty blocks and that keeps anvil's default history
    (the state of its last ~3,600 blocks). anvil 1.7.1 copies a state that grows with the chain for
    every block it keeps history of: 100k blocks would take many minutes. So they are mined on a node
    that keeps none (about 50k blocks/s), and its blocks and head state are loaded into this one."""
    with start_anvil(BASE.chain_id, keep_history=False) as bare, DevRpc(bare.url, timeout=120) as rpc:
        rpc.call("anvil_mine", [hex(EMPTY), "0x2"])
        dump = rpc.call("anvil_dumpState")
    n = start_anvil(BASE.chain_id)
    try:
        with DevRpc(n.url, timeout=120) as rpc:
            rpc.call("anvil_loadState", [dump])
            assert int(rpc.call("eth_blockNumber"), 16) == EMPTY
        yield n
    finally:
        n.stop()


def test_contracts_placed_after_100k_empty_blocks_are_found_by_bisection_and_backfill_starts_there(
    fresh_dsn: str, node: AnvilNode
) -> None:
    before, calls = asyncio.run(_resolve(fresh_dsn, node.url))
    assert [s.method for s in before.contracts] == [history.NO_CODE] * len(WATCHED)  # nothing deployed yet
    assert before.block == 0 and f"no code at block {EMPTY}" in before.reason
    assert calls == len(WATCHED)  # one look at the head each
    with DevRpc(node.url) as rpc:
        rpc.call("anvil_mine", [hex(200)])
        token_at = _set_code(rpc, TOKEN)  # the token first, at block 100,200
        rpc.call("anvil_mine", [hex(150)])
        others_at = {a: _set_code(rpc, a) for a in PROXIES}  # the proxies at 100,350, never searched
        for k in range(3):
            _send(rpc, _transfers(2, k), k)
            rpc.call("evm_mine", [])
        head = int(rpc.call("eth_blockNumber"), 16)
    assert (token_at, set(others_at.values())) == (EMPTY + 200, {EMPTY + 350})

    found, calls = asyncio.run(_resolve(fresh_dsn, node.url))
    firsts = {s.address: s.first_block for s in found.contracts}
    assert firsts == {TOKEN: EMPTY + 200}
    assert found.block == EMPTY + 200 and TOKEN in found.reason and "bisection" in found.reason
    # the re-search bisects the blocks above the one where no code was seen: per address, a look at
    # the head and log2 of the 353 blocks searched (8.5), rounded either way by the halvings
    searched = head - EMPTY
    per_address = (1 + math.floor(math.log2(searched)), 1 + math.ceil(math.log2(searched)))
    assert len(WATCHED) * per_address[0] <= calls <= len(WATCHED) * per_address[1]
    # anvil 1.7.1 cannot serve a search from block 0 over this chain: it keeps the state of recent
    # blocks only (none of the loaded 100k), as a non-archive provider does
    with pytest.raises(history.NoHistoricalState):
        asyncio.run(_first_code_block(node.url, TOKEN, 0, head))
    again, calls_again = asyncio.run(_resolve(fresh_dsn, node.url))
    assert calls_again == 0  # found once, stored, never searched again
    assert (again.block, again.reason) == (found.block, found.reason)
    assert {s.address: s.first_block for s in again.contracts} == firsts

    out = _cli(["backfill", "--chain", "base", "--from", "0", "--no-progress"], fresh_dsn, node.url)
    assert f"history begins at block {EMPTY + 200}" in out and "6 logs" in out
    ranges = asyncio.run(_fetch(fresh_dsn, "select from_block, to_block from og.indexed_ranges order by 1"))
    assert ranges[0][0] == EMPTY + 200 and ranges[-1][1] == head
    assert asyncio.run(_fetch(fresh_dsn, "select count(*) from og.raw_logs")) == [(6,)]
    status = _cli(["status", "--offline"], fresh_dsn, node.url)
    assert "history begins" in status and f"block {EMPTY + 200}" in status


@pytest.fixture
def pruned_node() -> Iterator[str]:
    """An anvil that keeps the state of its last 64 blocks only, as a non-archive provider does."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="ogtest-anvil-") as home:
        args = [*anvil_args(find_anvil(), BASE.chain_id, port, 1_767_225_600), "--prune-history", "64"]
        env = {**os.environ, "HOME": home}
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, BASE.chain_id, 20, proc)
            yield url
        finally:
            stop_pid(proc.pid, port)
            proc.wait(10)


def test_a_provider_without_historical_state_falls_back_to_the_configured_start(
    fresh_dsn: str, pruned_node: str
) -> None:
    with DevRpc(pruned_node) as rpc:
        rpc.call("anvil_mine", [hex(300)])
        for a in WATCHED:
            _set_code(rpc, a)
        rpc.call("anvil_mine", [hex(200)])
        _send(rpc, _transfers(3, 0), 0)
        rpc.call("evm_mine", [])
    start, _ = asyncio.run(_resolve(fresh_dsn, pruned_node))
    assert {s.method for s in start.contracts} == {history.NO_HISTORY}
    assert start.block == 0 and "no historical state" in start.reason
    stored = asyncio.run(_fetch(fresh_dsn, "select method, first_block from og.contract_starts"))
    assert stored == [("no_history", None)] * len(WATCHED)
    out = _cli(["backfill", "--chain", "base", "--from", "0", "--no-progress"], fresh_dsn, pruned_node)
    assert "history begins" not in out and "3 logs" in out
    ranges = asyncio.run(_fetch(fresh_dsn, "select min(from_block) from og.indexed_ranges"))
    assert ranges == [(0,)]

