"""Continuity at every seam, for ranges written in any order: a range is committed only when its first
block builds on the stored block below it and a stored block above it builds on its last block."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from pipeline_helpers import covered, fresh_pool, run_backfill
from test_follow import T0, chain_cfg, dev_call, mine, paid, payer, payment

from indexer.store import Discontinuity

if TYPE_CHECKING:
    from devnet_fixtures import DevnetPair

pytest_plugins = ("devnet_fixtures",)


def _pay(url: str, t: int, first: int, n: int) -> None:
    mine(url, [payment(t + 60 * i, payer(first + i), 1000 + first + i) for i in range(n)])


async def test_a_range_above_a_stored_orphaned_tip_is_refused(devnet: DevnetPair, server_dsn: str) -> None:
    url = devnet.urls["base"]
    chain = chain_cfg(devnet, "base", depth=0)
    _pay(url, T0, 1, 5)  # blocks 1..5
    async with fresh_pool(server_dsn) as pool:
        await run_backfill(pool, chain, 0, 5)
        before = await paid(pool)
        dev_call(url, "anvil_rollback", [2])  # blocks 4, 5 replaced
        _pay(url, T0 + 3600, 50, 7)  # blocks 4..10
        with pytest.raises(Discontinuity, match=r"block 6 has parent .* but the stored block 5 is") as e:
            await run_backfill(pool, chain, 6, 10)
        assert e.value.block_number == 5
        assert await paid(pool) == before and await covered(pool, 8453) == [(0, 5)]


async def test_a_range_below_a_stored_range_of_another_branch_is_refused(devnet: DevnetPair, server_dsn: str) -> None:
    url = devnet.urls["base"]
    chain = chain_cfg(devnet, "base", depth=0)
    _pay(url, T0, 1, 10)  # blocks 1..10
    async with fresh_pool(server_dsn) as pool:
        await run_backfill(pool, chain, 6, 10)
        before = await paid(pool)
        dev_call(url, "anvil_rollback", [7])  # blocks 4..10 replaced
        _pay(url, T0 + 3600, 50, 7)  # blocks 4..10
        with pytest.raises(Discontinuity, match=r"the stored block 6 has parent .* but block 5 is") as e:
            await run_backfill(pool, chain, 0, 5)
        assert e.value.block_number == 6
        assert await paid(pool) == before and await covered(pool, 8453) == [(6, 10)]
