"""Follow a chain's head: catch up through the backfill path, then extend the tip block by block;
every range must chain onto the stored blocks by parent hash, a break is a reorg rolled back in one
transaction, and a head below the stored tip is a lagging node, not a reorg."""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from . import store
from .config import ChainConfig, redact_url
from .rpc import RangeTooLarge, RpcClient, RpcError
from .source import Source
from .span import SpanControl
from .sync import SyncError, as_source, as_store, backfill, index_range

log = logging.getLogger("og_indexer.follow")


class Outcome(enum.Enum):
    NOTHING_NEW = "nothing_new"
    PROGRESS = "progress"
    REORG = "reorg"
    LAGGING = "lagging"  # the node's head is below the stored tip: it is behind, nothing is rolled back


class ReorgTooDeep(SyncError):
    """The chain reorganised below the unfinalized window we keep hashes for: stop, never diverge."""


class ChainStopped(SyncError):
    """The chain was stopped earlier (a reorg too deep) and not repaired since: it stays stopped."""


# Stored headers below the window read to name the last block still canonical in a too-deep stop.
REPAIR_SEARCH_HEADERS = 256


@dataclass(frozen=True)
class FollowOptions:
    tag: str = "latest"  # or "safe" / "finalized": follow that block instead of the raw head
    poll_min_s: float = 1.0
    poll_max_s: float = 15.0  # idle back-off ceiling
    live_span: int = 500  # blocks per live step (at most; the provider's cap may make it fewer)
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
    lagging: int = 0  # answers whose head was below the stored tip
    passes: int = 0
    last_error: str | None = None
    last_progress: float = field(default_factory=time.monotonic)
    stalled: bool = False
    stopped: str | None = None  # why this chain is no longer followed


class Follower:
    """One chain, read from a Source and written to a Store (an RPC client and a pool stand for
    theirs). `converge()` makes one step of progress or returns a named outcome; `run()` is the thin
    loop that decides to poll, back off or stop."""

    def __init__(
        self,
        source: Source | RpcClient,
        dest: store.Store | asyncpg.Pool,
        chain: ChainConfig,
        opts: FollowOptions,
    ) -> None:
        self.source = as_source(source, chain)
        self.dest = as_store(dest, chain)
        self.chain = chain
        self.opts = opts
        self.stats = FollowStats()
        self.wake = asyncio.Event()  # set by a newHeads subscription to poll at once
        # One span control for catch-up and live steps: a provider's refusal is remembered by both.
        self.spans = SpanControl(chain.max_block_range)

    @property
    def depth(self) -> int:
        return self.chain.finality_depth

    async def converge(self, stop: asyncio.Event | None = None) -> Outcome:
        head = await self.source.block_by_tag(self.opts.tag)
        self.stats.head, self.stats.head_time = head.number, head.timestamp
        done = await self.dest.indexed_ranges()
        current = await self.dest.tip()
        at_head = None
        if current is not None and head.number <= current[0]:
            at_head = await self.dest.hash_at(head.number)
        if current is not None and head.number <= current[0]:
            # Nothing new, or a node behind us. Only a stored block that differs from the node's
            # block at the same height is a reorg (and _reorg confirms it on a second answer).
            if at_head is not None and at_head != head.hash:
                return await self._reorg(head.number, head.number, current)
            if head.number < current[0]:
                return self._lagging(head.number, current[0])
            return Outcome.NOTHING_NEW
        try:
            return await self._extend(head.number, done, current, stop)
        except (store.Discontinuity, store.HashMismatch) as e:
            log.warning("discontinuity chain=%s block=%d error=%s", self.chain.name, e.block_number, e)
            return await self._reorg(e.block_number, head.number, current)

    def _lagging(self, head: int, tip: int) -> Outcome:
        self.stats.lagging += 1
        url = redact_url(self.source.url)
        log.warning("lagging_node chain=%s head=%d tip=%d url=%s", self.chain.name, head, tip, url)
        if len(self.source.urls) > 1:
            self.source.rotate()  # ask another URL on the next pass
        return Outcome.LAGGING

    async def _extend(
        self, head: int, done: list[store.Range], current: tuple[int, str] | None, stop: asyncio.Event | None
    ) -> Outcome:
        """Write the next blocks up to head; every range is proven to chain onto what is stored
        (index_range), so a reorg of any depth, while running or while down, surfaces here."""
        window_lo = max(self.chain.start_block, head - self.depth + 1)
        # Below the window: fill every gap (catch-up and holes) with the concurrent backfill path.
        if window_lo > self.chain.start_block:
            holes = store.gaps(self.chain.start_block, window_lo - 1, done)
            for h in holes:
                r = await backfill(
                    self.source,
                    self.dest,
                    self.chain,
                    h.lo,
                    h.hi,
                    concurrency=self.opts.catchup_concurrency,
                    stop=stop,
                    spans=self.spans,
                )
                self.stats.logs += r.logs
                self.stats.rows += sum(r.written.values())
                if stop is not None and stop.is_set():
                    break
            if holes:
                return Outcome.PROGRESS
        lo = self.chain.start_block if current is None else current[0] + 1
        if lo > head:
            return Outcome.NOTHING_NEW
        while True:
            hi = min(head, lo + min(self.opts.live_span, self.spans.span) - 1)
            try:
                n_logs, _rows, written = await index_range(
                    self.source, self.dest, self.chain, lo, hi, headers_from=window_lo if self.depth else None
                )
            except RangeTooLarge as e:
                span = self.spans.refused(lo, hi, e)
                log.info("range_refused chain=%s from=%d to=%d new_span=%d", self.chain.name, lo, hi, span)
                if span >= hi - lo + 1:
                    raise
                continue
            self.spans.succeeded()
            break
        self.stats.logs += n_logs
        self.stats.rows += sum(written.values())
        log.info("batch chain=%s from=%d to=%d logs=%d rows=%d", self.chain.name, lo, hi, n_logs, sum(written.values()))
        return Outcome.PROGRESS

    async def _reorg(self, suspect: int, head: int, current: tuple[int, str] | None) -> Outcome:
        """A stored block is in doubt (`suspect`). Find the last stored block that is still canonical
        and roll back above it in one transaction. Canonical hashes are read twice (rotating URLs
        when there are several) and must agree, and a rollback needs a stored block whose hash
        differs from the canonical one at its height: disagreeing or lagging nodes roll nothing back.
        A fork below the window stops the chain. The window is the last `finality_depth` blocks of
        `current`, the tip this pass started from: ranges a concurrent catch-up committed above it
        meanwhile must not move the window past the blocks in doubt (they are at or above the fork,
        so the rollback removes them too)."""
        if current is None:
            return Outcome.NOTHING_NEW
        floor = max(self.chain.start_block, current[0] - self.depth)
        top = min(current[0], head)
        stored = await self.dest.stored_hashes(floor, top)
        for n in {top, suspect}:
            if n <= top and n not in stored and (h := await self.dest.hash_at(n)) is not None:
                stored[n] = h
        first = await self._verdict(stored, floor, suspect)
        second = await self._verdict(stored, floor, suspect, rotate=True)
        if first != second:
            log.warning("reorg_unconfirmed chain=%s suspect=%d answers=%s/%s", self.chain.name, suspect, first, second)
            return Outcome.NOTHING_NEW
        ancestor, deep_break = first
        if deep_break or ancestor is None:
            raise ReorgTooDeep(await self._too_deep_message(floor, head))
        if ancestor >= max(n for n in stored if n >= floor):
            log.warning(
                "reorg_unconfirmed chain=%s suspect=%d: every stored block checked is canonical",
                self.chain.name,
                suspect,
            )
            return Outcome.NOTHING_NEW
        fork = ancestor + 1
        deleted = await self.dest.rollback(fork, stored[ancestor])
        self.stats.reorgs += 1
        log.warning(
            "reorg chain=%s fork=%d old_tip=%d deleted=%s", self.chain.name, fork, current[0], sum(deleted.values())
        )
        return Outcome.REORG

    async def _verdict(
        self, stored: dict[int, str], floor: int, suspect: int, rotate: bool = False
    ) -> tuple[int | None, bool]:
        """(the highest stored block in the window that is canonical, whether the suspect block below
        the window is not canonical), from one reading of the node's hashes."""
        if rotate and len(self.source.urls) > 1:
            self.source.rotate()
        canonical = await self.source.blocks(stored)
        deep_break = suspect < floor and suspect in stored and canonical[suspect].hash != stored[suspect]
        ancestor = next(
            (n for n in sorted(stored, reverse=True) if n >= floor and canonical[n].hash == stored[n]), None
        )
        return ancestor, deep_break

    async def _too_deep_message(self, floor: int, head: int) -> str:
        """The stop message, naming the repair: the last stored block still canonical, when one of
        the stored headers below the window is."""
        older = await self.dest.hashes_below(min(floor, head + 1), REPAIR_SEARCH_HEADERS)
        canonical = await self.source.blocks(older)
        good = next((n for n in sorted(older, reverse=True) if canonical[n].hash == older[n]), None)
        name = self.chain.name
        if good is not None:
            repair = (
                f"the last stored block still canonical is {good}. Repair: og-indexer rollback --chain {name} "
                f"--from-block {good + 1}, then run again"
            )
        else:
            repair = (
                f"none of the {len(older)} stored headers below it is canonical. Repair: og-indexer rollback "
                f"--chain {name} --from-block N with N at or below the fork, then run again"
            )
        return (
            f"{name}: reorg below block {floor} (deeper than the {self.depth}-block window); "
            f"nothing was written past the fork; {repair}"
        )

    async def _save_state(
        self, progressed: bool, error: str | None, reorg: bool = False, lagging: bool = False
    ) -> None:
        current = await self.dest.tip()
        self.stats.tip = current[0] if current else None
        caught_up = self.stats.tip is not None and self.stats.head is not None and self.stats.tip >= self.stats.head
        await self.dest.save_state(
            head=self.stats.head,
            head_time=self.stats.head_time,
            tip_block=self.stats.tip,
            progressed=progressed,
            error=error,
            stalled=self.stats.stalled,
            reorg=reorg,
            recovered=error is None and not lagging and (progressed or caught_up),
            lagging=int(lagging),
        )

    async def _stop(self, reason: str) -> None:
        """Stop this chain loudly: logged, recorded (kept across restarts), shown by status and metrics."""
        self.stats.stopped = reason
        self.stats.last_error = reason
        log.error("chain_stopped chain=%s reason=%s", self.chain.name, reason)
        try:
            await self.dest.mark_stopped(reason)
        except (asyncpg.PostgresError, OSError) as e:
            log.error("state_error chain=%s error=%s", self.chain.name, e)

    async def run(self, stop: asyncio.Event, on_pass: Callable[[Follower], None] | None = None) -> None:
        earlier = await self.dest.stopped_reason()
        if earlier is not None:
            self.stats.stopped = earlier
            log.error("chain_stopped chain=%s reason=%s (still stopped: not repaired)", self.chain.name, earlier)
            raise ChainStopped(f"still stopped, not repaired since: {earlier}")
        interval = self.opts.poll_min_s
        while not stop.is_set():
            error: str | None = None
            outcome = Outcome.NOTHING_NEW
            try:
                outcome = await self.converge(stop)
            except ReorgTooDeep as e:
                await self._stop(str(e))
                raise
            except (RpcError, SyncError, store.StoreError, asyncpg.PostgresError, OSError) as e:
                error = f"{type(e).__name__}: {e}"
                self.stats.errors += 1
                self.stats.last_error = error
                log.warning("follow_error chain=%s error=%s", self.chain.name, error)
            self.stats.passes += 1
            now = time.monotonic()
            idle = outcome in (Outcome.NOTHING_NEW, Outcome.LAGGING)
            if not idle:
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
                if outcome is Outcome.LAGGING and len(self.source.urls) > 1:
                    interval = self.opts.poll_min_s  # ask the next URL soon
                else:  # nothing new, or the only node is behind: wait, backing off
                    interval = min(self.opts.poll_max_s, interval * 1.5) if error is None else self.opts.poll_max_s
            try:
                await self._save_state(not idle, error, outcome is Outcome.REORG, lagging=outcome is Outcome.LAGGING)
                # Headers are kept for the stored tip's window too, whatever the head: the next range
                # proves its continuity against them, however long the follower was behind.
                keep_from = min(self.stats.head or 0, self.stats.tip or 0) - self.depth
                if self.stats.passes % self.opts.prune_every == 0 and self.stats.head is not None and self.depth:
                    await self.dest.prune_blocks(keep_from)
            except (asyncpg.PostgresError, OSError) as e:
                log.warning("state_error chain=%s error=%s", self.chain.name, e)
            if on_pass is not None:
                on_pass(self)
            if idle:
                await _sleep_or_wake(stop, self.wake, interval)


async def _sleep_or_wake(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
        wake.clear()
