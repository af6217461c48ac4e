"""Follow a chain's head: catch up through the backfill path, then extend the tip block by block,
detecting reorgs by parent hash and rolling back in one transaction."""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from . import store
from .config import ChainConfig
from .rpc import RpcClient, RpcError
from .sync import ParentMismatch, SyncError, backfill, index_range

log = logging.getLogger("og_indexer.follow")


class Outcome(enum.Enum):
    NOTHING_NEW = "nothing_new"
    PROGRESS = "progress"
    REORG = "reorg"


class ReorgTooDeep(SyncError):
    """The chain reorganised below the unfinalized window we keep hashes for: stop, never diverge."""


@dataclass(frozen=True)
class FollowOptions:
    tag: str = "latest"  # or "safe" / "finalized": follow that block instead of the raw head
    poll_min_s: float = 1.0
    poll_max_s: float = 15.0  # idle back-off ceiling
    live_span: int = 500  # blocks per live step
    catchup_concurrency: int = 4
    stall_after_s: float = 120.0  # head moved but the tip did not for this long: loud
    prune_every: int = 100  # converge passes between header prunes


@dataclass
class FollowStats:
    head: int | None = None
    head_time: int | None = None
    tip: int | None = None
    rows: int = 0
    logs: int = 0
    reorgs: int = 0
    errors: int = 0
    passes: int = 0
    last_error: str | None = None
    last_progress: float = field(default_factory=time.monotonic)
    stalled: bool = False


class Follower:
    """One chain. `converge()` makes one step of progress or returns a named outcome; `run()` is the
    thin loop that decides to poll, back off or stop."""

    def __init__(self, rpc: RpcClient, pool: asyncpg.Pool, chain: ChainConfig, opts: FollowOptions) -> None:
        self.rpc = rpc
        self.pool = pool
        self.chain = chain
        self.opts = opts
        self.stats = FollowStats()
        self.wake = asyncio.Event()  # set by a newHeads subscription to poll at once

    @property
    def depth(self) -> int:
        return self.chain.finality_depth

    async def converge(self, stop: asyncio.Event | None = None) -> Outcome:
        head = await self.rpc.block_by_tag(self.opts.tag)
        self.stats.head, self.stats.head_time = head.number, head.timestamp
        cid = self.chain.chain_id
        window_lo = max(self.chain.start_block, head.number - self.depth + 1)
        async with self.pool.acquire() as conn:
            done = await store.indexed_ranges(conn, cid)
            current = await store.tip(conn, cid)
        # Below the window: fill every gap (catch-up and holes) with the concurrent backfill path.
        if window_lo > self.chain.start_block:
            holes = store.gaps(self.chain.start_block, window_lo - 1, done)
            for h in holes:
                r = await backfill(
                    self.rpc, self.pool, self.chain, h.lo, h.hi, concurrency=self.opts.catchup_concurrency, stop=stop
                )
                self.stats.logs += r.logs
                self.stats.rows += sum(r.written.values())
                if stop is not None and stop.is_set():
                    break
            if holes:
                return Outcome.PROGRESS
        if current is None:
            lo, parent = self.chain.start_block, None
        else:
            lo, parent = current[0] + 1, current[1]
            if current[0] > head.number:
                return await self._reorg(head.number + 1)
        if lo > head.number:
            return Outcome.NOTHING_NEW
        hi = min(head.number, lo + self.opts.live_span - 1)
        try:
            n_logs, _rows, written = await index_range(
                self.rpc, self.pool, self.chain, lo, hi, headers_from=window_lo if self.depth else None, parent=parent
            )
        except ParentMismatch as e:
            return await self._reorg(e.block_number)
        self.stats.logs += n_logs
        self.stats.rows += sum(written.values())
        log.info("batch chain=%s from=%d to=%d logs=%d rows=%d", self.chain.name, lo, hi, n_logs, sum(written.values()))
        return Outcome.PROGRESS

    async def _reorg(self, first_bad: int) -> Outcome:
        """Find the last block we stored that is still canonical and roll back above it. The hashes are
        read twice (across URLs when there are several) so two disagreeing load-balanced nodes do not
        cause a false rollback."""
        cid = self.chain.chain_id
        async with self.pool.acquire() as conn:
            current = await store.tip(conn, cid)
            if current is None:
                return Outcome.NOTHING_NEW
            floor = max(0, current[0] - self.depth)
            stored = await store.stored_hashes(conn, cid, floor, current[0])
        ancestor = await self._common_ancestor(stored, min(first_bad - 1, current[0]), floor)
        if ancestor is None:
            raise ReorgTooDeep(
                f"{self.chain.name}: reorg below block {floor} (deeper than the {self.depth}-block window); "
                f"nothing was written past the fork. Repair: og-indexer backfill --chain {self.chain.name} "
                f"--from {max(0, floor - self.depth)} --to latest --force after deleting rows from that block "
                "(or raise finality_depth)"
            )
        confirm = await self._common_ancestor(stored, min(first_bad - 1, current[0]), floor, rotate=True)
        if confirm != ancestor:
            log.warning("reorg_unconfirmed chain=%s first_bad=%d", self.chain.name, first_bad)
            return Outcome.NOTHING_NEW
        fork = ancestor + 1
        async with self.pool.acquire() as conn, conn.transaction():
            await store.lock_chain(conn, cid)
            deleted = await store.rollback(conn, cid, fork, stored[ancestor])
        self.stats.reorgs += 1
        log.warning(
            "reorg chain=%s fork=%d old_tip=%d deleted=%s", self.chain.name, fork, current[0], sum(deleted.values())
        )
        return Outcome.REORG

    async def _common_ancestor(
        self, stored: dict[int, str], start: int, floor: int, rotate: bool = False
    ) -> int | None:
        if rotate and len(self.rpc.urls) > 1:
            self.rpc.rotate()
        nums = [n for n in sorted(stored, reverse=True) if floor <= n <= start]
        if not nums:
            return None
        canonical = await self.rpc.blocks(nums)
        for n in nums:
            if canonical[n].hash == stored[n]:
                return n
        return None

    async def _save_state(self, progressed: bool, error: str | None, reorg: bool = False) -> None:
        async with self.pool.acquire() as conn:
            current = await store.tip(conn, self.chain.chain_id)
            self.stats.tip = current[0] if current else None
            await store.save_chain_state(
                conn,
                self.chain.chain_id,
                head=self.stats.head,
                head_time=self.stats.head_time,
                tip_block=self.stats.tip,
                progressed=progressed,
                error=error,
                stalled=self.stats.stalled,
                reorg=reorg,
            )

    async def run(self, stop: asyncio.Event, on_pass: Callable[[Follower], None] | None = None) -> None:
        interval = self.opts.poll_min_s
        while not stop.is_set():
            error: str | None = None
            outcome = Outcome.NOTHING_NEW
            try:
                outcome = await self.converge(stop)
            except ReorgTooDeep as e:
                self.stats.last_error = str(e)
                await self._save_state(False, str(e))
                log.error("reorg_too_deep chain=%s error=%s", self.chain.name, e)
                raise
            except (RpcError, SyncError, store.StoreError, asyncpg.PostgresError, OSError) as e:
                error = f"{type(e).__name__}: {e}"
                self.stats.errors += 1
                self.stats.last_error = error
                log.warning("follow_error chain=%s error=%s", self.chain.name, error)
            self.stats.passes += 1
            now = time.monotonic()
            if outcome is not Outcome.NOTHING_NEW:
                self.stats.last_progress = now
                self.stats.stalled = False
                interval = self.opts.poll_min_s
            else:
                behind = self.stats.head is not None and (self.stats.tip or -1) < self.stats.head
                if behind and now - self.stats.last_progress > self.opts.stall_after_s and not self.stats.stalled:
                    self.stats.stalled = True
                    log.error(
                        "stalled chain=%s head=%s tip=%s since_s=%d last_error=%s",
                        self.chain.name,
                        self.stats.head,
                        self.stats.tip,
                        now - self.stats.last_progress,
                        self.stats.last_error,
                    )
                interval = min(self.opts.poll_max_s, interval * 1.5) if error is None else self.opts.poll_max_s
            try:
                await self._save_state(outcome is not Outcome.NOTHING_NEW, error, outcome is Outcome.REORG)
                if self.stats.passes % self.opts.prune_every == 0 and self.stats.head is not None and self.depth:
                    async with self.pool.acquire() as conn:
                        await store.prune_blocks(conn, self.chain.chain_id, self.stats.head - self.depth)
            except (asyncpg.PostgresError, OSError) as e:
                log.warning("state_error chain=%s error=%s", self.chain.name, e)
            if on_pass is not None:
                on_pass(self)
            if outcome is Outcome.NOTHING_NEW:
                await _sleep_or_wake(stop, self.wake, interval)


async def _sleep_or_wake(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
        wake.clear()
