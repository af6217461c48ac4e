"""A backfill run as a user runs it (the console script, in its own process) prints nothing on stderr:
no resource_tracker warning about leaked semaphores from the decode process, no other warning."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import asyncpg
from pipeline_helpers import start_cli
from test_span_density import _send, _transfers

from indexer.devnet.anvil_client import AnvilClient as DevRpc

if TYPE_CHECKING:
    from devnet_fixtures import DevnetPair

pytest_plugins = ("devnet_fixtures",)


async def test_a_backfill_with_the_decode_process_exits_without_warnings(fresh_dsn: str, devnet: DevnetPair) -> None:
    blocks = 900  # 9 probe-sized ranges: enough for the decode process (sync.DECODE_PROCESS_MIN_RANGES)
    with DevRpc(devnet.base.url) as rpc:
        for b in range(blocks):
            _send(rpc, _transfers(5, b), b)
            rpc.call("evm_mine", [])
    env = {**os.environ, "DATABASE_URL": fresh_dsn, "BASE_RPC_URL": devnet.base.url, "PYTHONWARNINGS": "default"}
    env.pop("OG_INDEXER_CONFIG", None)
    proc = start_cli(["backfill", "--chain", "base", "--no-progress"], env)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    assert err.decode() == ""
    assert f"{blocks * 5} logs".encode() in out
    conn = await asyncpg.connect(fresh_dsn)
    try:
        assert await conn.fetchval("select count(*) from og.raw_logs") == blocks * 5
    finally:
        await conn.close()
