"""At the default settings the eth_getLogs span follows density: a dense range is fetched in several
calls of about the target size, a sparse one in about as few calls as the ceiling allows."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import asyncpg
import pytest
from pipeline_helpers import devnet_config, head

from indexer.config import BASE
from indexer.devnet.anvil import AnvilNode, start_anvil
from indexer.devnet.anvil_client import AnvilClient as DevRpc
from indexer.devnet.contracts import install_chain
from indexer.devnet.plan import PlannedTx, call, event
from indexer.rpc import RpcClient
from indexer.span import PROBE_BLOCKS, TARGET_LOGS
from indexer.sync import backfill

if TYPE_CHECKING:
    from devnet_fixtures import DevnetPair

pytest_plugins = ("devnet_fixtures",)

TOKEN = BASE.addresses_with_role("token")[0]
ERC20 = "OPG_ERC20_Base.json"
SENDER = "0x" + "5e" * 20
RANGE_DONE = re.compile(r"range_done chain=\S+ from=(\d+) to=(\d+) logs=(\d+)")


def _transfers(n: int, salt: int) -> PlannedTx:
    """One transaction emitting n OPG transfers between strangers (raw logs, no typed rows)."""
    emits = tuple(
        event(BASE, TOKEN, ERC20, "Transfer", SENDER, "0x" + f"{salt:08x}{k:032x}", k + 1) for k in range(n)
    )
    return PlannedTx(0, SENDER, TOKEN, call(ERC20, "transfer", SENDER, 1), emits)


def _send(rpc: DevRpc, tx: PlannedTx, nonce: int) -> None:
    rpc.call("eth_sendTransaction", [{
        "from": tx.sender, "to": tx.to, "data": "0x" + tx.input.hex(), "gas": hex(tx.gas),
        "gasPrice": "0x0", "value": "0x0", "nonce": hex(nonce),
    }])


def _ranges(caplog: pytest.LogCaptureFixture) -> list[tuple[int, int, int]]:
    return [
        (int(m[1]), int(m[2]), int(m[3]))
        for r in caplog.records
        if (m := RANGE_DONE.match(r.getMessage())) is not None
    ]


async def test_dense_range_at_defaults_is_fetched_in_several_target_sized_calls(
    pool: asyncpg.Pool, devnet: DevnetPair, caplog: pytest.LogCaptureFixture
) -> None:
    blocks, per_block = 600, 30  # 18,000 logs: one call at the ceiling (2,000 blocks) before density
    with DevRpc(devnet.base.url) as rpc:
        for b in range(blocks):
            _send(rpc, _transfers(per_block, b), b)
            rpc.call("evm_mine", [])
    top = await head(devnet.base.url)
    chain = devnet_config(devnet.urls).chain("base")
    assert chain.max_block_range >= top  # the default ceiling would take the whole range at once
    caplog.set_level(logging.DEBUG, logger="og_indexer.sync")
    async with RpcClient(chain.rpc_urls, chain_name=chain.name) as client:
        r = await backfill(client, pool, chain, 0, top)
        calls = client.stats.calls["eth_getLogs"]
    assert r.logs == blocks * per_block
    assert await pool.fetchval("select count(*) from og.raw_logs") == blocks * per_block
    done = _ranges(caplog)
    assert len(done) == calls and sum(n for _, _, n in done) == blocks * per_block
    assert calls >= 4 + (blocks - 4 * PROBE_BLOCKS) * per_block // TARGET_LOGS  # 4 probes, then target-sized
    # the 4 workers' first ranges are probes of 100 blocks, taken before the density is known;
    # every later call is near the target, none takes the whole range
    probes = [(a, b) for a, b, _ in done if a < 4 * PROBE_BLOCKS]
    assert sorted(probes) == [(k * PROBE_BLOCKS, (k + 1) * PROBE_BLOCKS - 1) for k in range(4)]
    assert max(n for a, _, n in done if a >= 4 * PROBE_BLOCKS) <= TARGET_LOGS + per_block


@pytest.fixture
def bare_base() -> Iterator[AnvilNode]:
    """A Base node without historical state: it mines empty blocks steadily fast (anvil.NO_HISTORY_ARGS)."""
    with start_anvil(BASE.chain_id, keep_history=False) as node:
        yield node


async def test_sparse_range_is_scanned_in_about_as_few_calls_as_the_ceiling_allows(
    pool: asyncpg.Pool, bare_base: AnvilNode
) -> None:
    empty, marks = 10_000, 20  # 200,000 blocks, a log every 10,000, under Base's default ceiling
    with DevRpc(bare_base.url) as rpc:
        install_chain(rpc)  # emitters at the real addresses
        for k in range(marks):
            rpc.call("anvil_mine", [hex(empty - 1), "0x1"])
            _send(rpc, _transfers(1, k), k)
            rpc.call("evm_mine", [])
    top = await head(bare_base.url)
    assert top == empty * marks
    chain = devnet_config({"opengradient": bare_base.url, "base": bare_base.url}).chain("base")
    async with RpcClient(chain.rpc_urls, chain_name=chain.name) as client:
        r = await backfill(client, pool, chain, 0, top)
        calls = client.stats.calls["eth_getLogs"]
    assert r.logs == marks
    minimum = -(-(top + 1) // chain.max_block_range)
    assert minimum == 101
    assert minimum <= calls <= minimum + 4  # the probe's few extra calls while the span grows to the ceiling
