"""Follow and backfill against the in-memory fakes: reorgs, lagging nodes, refusals and replays each
end with the store holding exactly what a fresh backfill of the canonical branch gives."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from fakes import FakeChain, FakeStore, converge_until_idle, pay, payment

from indexer.config import BASE, ChainConfig
from indexer.follow import ChainStopped, Follower, FollowOptions, Outcome, ReorgTooDeep
from indexer.store import Discontinuity, HashMismatch
from indexer.sync import backfill

CHAIN = replace(BASE, finality_depth=4, max_block_range=5)
OPTS = FollowOptions(poll_min_s=0.0, poll_max_s=0.0, live_span=3)
P, R, N, L = Outcome.PROGRESS, Outcome.REORG, Outcome.NOTHING_NEW, Outcome.LAGGING


async def run_once_stopped(f: Follower) -> None:
    """run() must stop the chain on its own, at once (a broken follower fails here, never hangs)."""
    async with asyncio.timeout(5):
        await f.run(asyncio.Event())
    raise AssertionError("run() ended without stopping the chain")


async def assert_equals_fresh_backfill(chain: FakeChain, store: FakeStore) -> None:
    """The store holds what a fresh backfill of the canonical chain to its head gives: the same rows,
    one checkpoint at the head's hash, and no header that is not canonical."""
    fresh = FakeStore()
    await backfill(chain, fresh, CHAIN, CHAIN.start_block, chain.head)
    assert store.content() == fresh.content()
    assert "payments" in fresh.content()  # the comparison holds decoded rows, not only raw ones
    assert store.ranges == {CHAIN.start_block: (chain.head, chain.canonical[-1].hash)}
    canonical = {b.number: (b.hash, b.parent_hash) for b in chain.canonical}
    assert {n: canonical[n] for n in store.headers()} == store.headers()
    assert fresh.headers().items() <= store.headers().items()


async def test_converge_nothing_new() -> None:
    chain, store = FakeChain(CHAIN), FakeStore()
    pay(chain, 1, 6)
    f = Follower(chain, store, CHAIN, OPTS)
    # Below the window (blocks 0..2) by the backfill path, then live steps of 3 blocks.
    assert await converge_until_idle(f) == [P, P, P, N]
    commits = store.commits
    assert await converge_until_idle(f) == [N]
    assert store.commits == commits and f.stats.reorgs == 0
    await assert_equals_fresh_backfill(chain, store)


async def test_converge_reorg_at_head() -> None:
    """Blocks 7 and 8 are replaced while followed, and the new branch grows to 9: block 9 does not
    chain onto the stored 8, the orphans roll back, the new branch is written."""
    chain, store = FakeChain(CHAIN), FakeStore()
    pay(chain, 1, 8)
    f = Follower(chain, store, CHAIN, OPTS)
    await converge_until_idle(f)
    chain.reorg(7, "b")
    pay(chain, 100, 3)  # blocks 7..9
    assert await converge_until_idle(f) == [R, P, N]
    assert f.stats.reorgs == 1 and store.forks == [7]
    await assert_equals_fresh_backfill(chain, store)


async def test_converge_reorg_of_the_head_block_alone() -> None:
    """Only block 8, the stored tip, is replaced and the head stays at 8: seen from its hash alone."""
    chain, store = FakeChain(CHAIN), FakeStore()
    pay(chain, 1, 8)
    f = Follower(chain, store, CHAIN, OPTS)
    await converge_until_idle(f)
    chain.reorg(8, "b")
    pay(chain, 100, 1)
    assert await converge_until_idle(f) == [R, P, N]
    assert store.forks == [8]
    await assert_equals_fresh_backfill(chain, store)


async def test_converge_reorg_between_logs_rolls_back_from_the_fork() -> None:
    """Blocks without logs keep their headers while in the window, so a fork among them is found
    where it is: only the replaced block 9 rolls back, not the range down to the last log."""
    chain, store = FakeChain(CHAIN), FakeStore()
    pay(chain, 1, 6)
    f = Follower(chain, store, CHAIN, OPTS)
    await converge_until_idle(f)
    chain.mine([], [], [])  # blocks 7..9: no logs, one live step
    assert await converge_until_idle(f) == [P, N]
    chain.reorg(9, "b")
    chain.mine([payment(100)], [payment(101)])  # blocks 9, 10
    assert await converge_until_idle(f) == [R, P, N]
    assert store.forks == [9]
    await assert_equals_fresh_backfill(chain, store)


async def reorg_while_down_beyond_window(config: ChainConfig) -> None:
    """Stored tip 10, blocks 8.. replaced while the indexer is down, head 20 (window 4): the catch-up
    range 11.. does not chain onto the stored 10, so 8..10 roll back on restart."""
    chain, store = FakeChain(config), FakeStore()
    pay(chain, 1, 10)
    await converge_until_idle(Follower(chain, store, config, OPTS))
    chain.reorg(8, "b")
    pay(chain, 100, 13)  # blocks 8..20
    f = Follower(chain, store, config, OPTS)  # restarted
    assert await converge_until_idle(f) == [R, P, P, P, N]
    assert f.stats.reorgs == 1 and store.forks == [8]
    await assert_equals_fresh_backfill(chain, store)


async def test_converge_reorg_while_down_beyond_window() -> None:
    await reorg_while_down_beyond_window(replace(CHAIN, max_block_range=50))  # catch-up 11..16 in one range


async def test_converge_reorg_while_down_beyond_window_caught_up_in_several_ranges() -> None:
    """The catch-up 11..16 is two concurrent ranges, 11..15 and 16..16. The second one touches no
    stored block and commits; the first fails its seam. The fork (8) is looked for in the window of
    the tip the pass started from (6..10), not of the tip 16 the second range left."""
    await reorg_while_down_beyond_window(CHAIN)


@pytest.mark.parametrize("nodes", [1, 2], ids=["one_url", "two_urls"])
async def test_converge_lagging_node_is_not_a_reorg(nodes: int) -> None:
    """The first node serves a head 3 blocks below the stored tip: nothing rolls back; with a
    second node the follower asks it and keeps up meanwhile."""
    chain, store = FakeChain(CHAIN, urls=[f"fake://node-{i}" for i in range(nodes)]), FakeStore()
    pay(chain, 1, 10)
    f = Follower(chain, store, CHAIN, OPTS)
    await converge_until_idle(f)
    before = store.content()
    chain.lag[0] = 3
    pay(chain, 11, 2)  # the head is 12, the first node says 9
    if nodes == 1:
        assert await converge_until_idle(f) == [L]
        assert store.content() == before
        chain.lag.clear()
    else:
        assert await converge_until_idle(f) == [L]  # and rotated to the second node
    assert await converge_until_idle(f) == [P, N]
    assert f.stats.reorgs == 0 and f.stats.lagging == 1
    await assert_equals_fresh_backfill(chain, store)


async def test_converge_a_reorg_only_one_node_reports_rolls_nothing_back() -> None:
    """The first node serves another branch from block 4 on; the second node disagrees: no rollback,
    and the follower carries on with the node that agrees with what is stored."""
    chain, store = FakeChain(CHAIN, urls=["fake://liar", "fake://honest"]), FakeStore()
    pay(chain, 1, 5)
    f = Follower(chain, store, CHAIN, OPTS)
    await converge_until_idle(f)
    before = store.content()
    liar = chain.copy()
    liar.reorg(4, "liar")
    pay(liar, 100, 3)  # blocks 4..6
    chain.views[0] = liar
    pay(chain, 6, 1)  # block 6
    assert await f.converge() is N  # block 6 of the liar does not chain onto the stored 5: unconfirmed
    assert store.content() == before and chain.url == "fake://honest"
    assert await converge_until_idle(f) == [P, N]
    assert f.stats.reorgs == 0
    await assert_equals_fresh_backfill(chain, store)


@pytest.mark.parametrize("stored_first", ["below", "above"])
async def test_backfill_range_that_does_not_chain_onto_a_stored_one_is_refused(stored_first: str) -> None:
    """A stored range and the next range to write are on different branches (blocks 4.. replaced in
    between): the seam between them refuses the write, whichever side was stored first."""
    config = replace(CHAIN, finality_depth=0, max_block_range=50)  # each backfill one range
    chain, store = FakeChain(config), FakeStore(chain_id=config.chain_id)
    pay(chain, 1, 10)
    first, then = ((0, 5), (6, 10)) if stored_first == "below" else ((6, 10), (0, 5))
    await backfill(chain, store, config, *first)
    before, ranges = store.content(), dict(store.ranges)
    chain.reorg(4, "b")
    pay(chain, 100, 7)  # blocks 4..10
    with pytest.raises(Discontinuity) as e:
        await backfill(chain, store, config, *then)
    assert e.value.block_number == (5 if stored_first == "below" else 6)
    assert store.content() == before and store.ranges == ranges


async def test_backfill_forced_over_a_reorganised_range_is_refused() -> None:
    """One range over stored blocks whose hashes changed, its seams intact (nothing stored around it):
    the stored headers refuse it and nothing is written."""
    config = replace(CHAIN, finality_depth=0, max_block_range=50)
    chain, store = FakeChain(config), FakeStore(chain_id=config.chain_id)
    pay(chain, 1, 10)
    await backfill(chain, store, config, 0, 10)
    before, ranges = store.content(), dict(store.ranges)
    chain.reorg(5, "b")
    pay(chain, 100, 6)  # blocks 5..10
    with pytest.raises(HashMismatch):
        await backfill(chain, store, config, 0, 10, force=True)
    assert store.content() == before and store.ranges == ranges


async def test_converge_capped_provider_takes_the_span_it_names() -> None:
    """A provider refusing ranges over 2 blocks: the follower takes that span from then on (the two
    catch-up workers' first ranges are refused, nothing after them) and catches up."""
    chain, store = FakeChain(CHAIN, max_span=2), FakeStore()
    pay(chain, 1, 12)
    f = Follower(chain, store, CHAIN, OPTS)
    assert await converge_until_idle(f) == [P, P, P, N]
    assert chain.refused == 2
    await assert_equals_fresh_backfill(chain, store)


async def test_converge_too_deep_stops_chain() -> None:
    """A fork 6 deep with a 3-block window: the chain stops, naming the repair, writes nothing past
    the fork, and stays stopped on restart; after the repair it converges."""
    config = replace(CHAIN, finality_depth=3)
    chain, store = FakeChain(config), FakeStore()
    pay(chain, 1, 8)
    f = Follower(chain, store, config, OPTS)
    await converge_until_idle(f)
    before, tip = store.content(), await store.tip()
    chain.reorg(3, "b")
    pay(chain, 100, 8)  # blocks 3..10
    with pytest.raises(ReorgTooDeep, match="og-indexer rollback --chain base --from-block 3"):
        await run_once_stopped(f)
    assert store.stopped is not None and "deeper than the 3-block window" in store.stopped
    assert store.content() == before and await store.tip() == tip
    with pytest.raises(ChainStopped, match="still stopped"):
        await run_once_stopped(Follower(chain, store, config, OPTS))
    await store.rollback(3, chain.canonical[2].hash)  # og-indexer rollback --from-block 3
    store.stopped = None
    assert await converge_until_idle(Follower(chain, store, config, OPTS)) == [P, P, N]
    await assert_equals_fresh_backfill(chain, store)


async def test_backfill_replay_writes_nothing_new() -> None:
    chain, store = FakeChain(CHAIN), FakeStore()
    pay(chain, 1, 12)
    first = await backfill(chain, store, CHAIN, 0, 7)
    assert first.written["payments"] == 7
    again = await backfill(chain, store, CHAIN, 0, 12)  # 0..7 skipped, 8..12 new
    assert again.skipped_blocks == 8 and again.written["payments"] == 5
    content = store.content()
    forced = await backfill(chain, store, CHAIN, 3, 12, force=True)
    assert forced.rows > 0 and sum(forced.written.values()) == 0
    assert store.content() == content
    await assert_equals_fresh_backfill(chain, store)
