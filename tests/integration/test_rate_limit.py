"""A provider that answers HTTP 429 to a share of requests (a rate limit): every batch of header and
transaction look-ups is retried on its own, so a range needing many batches still completes."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from pipeline_helpers import devnet_config, digest, fresh_pool, head, run_backfill
from rpc_proxy import Faults, RpcProxy

if TYPE_CHECKING:
    from devnet_fixtures import DevnetPair

pytest_plugins = ("devnet_fixtures",)


async def test_many_lookup_batches_under_429s_complete_with_identical_tables(
    devnet: DevnetPair, server_dsn: str
) -> None:
    devnet.simulate(days=2, seed=11)
    chain = devnet_config(devnet.urls).chain("base")
    top = await head(devnet.urls["base"])
    async with fresh_pool(server_dsn) as pool:
        await run_backfill(pool, chain, 0, top)
        reference = await digest(pool)
    assert reference["payments"][0] > 0
    # batches of 5 look-ups: a range's transactions take dozens of batches; with 3 requests in 10
    # refused, retrying a range's batches together (7 attempts) would almost never pass
    proxy = await RpcProxy(devnet.urls["base"], Faults(rate=0.3, kinds=("429",), seed=5)).start()
    try:
        async with fresh_pool(server_dsn) as pool:
            limited = replace(chain, rpc_urls=(proxy.url,))
            r = await run_backfill(pool, limited, 0, top, client={"max_batch": 5})
            assert r.blocks == top + 1
            assert await digest(pool) == reference
    finally:
        await proxy.stop()
    assert proxy.injected["429"] > 20
