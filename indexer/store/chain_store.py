"""The destination side of the pipeline as follow and sync see it: the Store protocol, and PgStore."""

from __future__ import annotations

from typing import Protocol

import asyncpg

from ..batch import EncodedRows
from .base import Range, lock_chain
from .chain_state import mark_stopped, save_chain_state, stopped_reason
from .ranges import commit_range, indexed_ranges
from .rollback import hash_at, hashes_below, prune_blocks, rollback, stored_hashes, tip


class Store(Protocol):
    """One chain's indexed rows, headers and checkpoint (PgStore in Postgres; tests/fakes.py in
    memory). Rows are written exactly once: a replayed range writes nothing new."""

    async def indexed_ranges(self) -> list[Range]:
        """The indexed block ranges, sorted and merged."""
        ...

    async def tip(self) -> tuple[int, str] | None:
        """The highest indexed block and its hash."""
        ...

    async def hash_at(self, block_number: int) -> str | None:
        """The stored hash of a block: its header, else the checkpoint that ends there."""
        ...

    async def stored_hashes(self, lo: int, hi: int) -> dict[int, str]:
        """The stored headers' hashes in [lo, hi]."""
        ...

    async def hashes_below(self, below: int, limit: int) -> dict[int, str]:
        """The `limit` highest stored headers' hashes under block `below`."""
        ...

    async def commit_range(
        self, lo: int, hi: int, hi_hash: str, rows: EncodedRows, *, lo_parent: str
    ) -> dict[str, int]:
        """All or nothing: the rows new to the store and the checkpoint of [lo, hi], when the range
        chains onto the stored blocks around it (else store.Discontinuity) and no stored header
        differs from one of the rows' (else store.HashMismatch). Returns rows written per table."""
        ...

    async def rollback(self, fork: int, ancestor_hash: str) -> dict[str, int]:
        """All or nothing: delete every row at or above fork, checkpoint back to fork - 1."""
        ...

    async def prune_blocks(self, below: int) -> int:
        """Forget headers below `below` that hold no log and end no range."""
        ...

    async def save_state(
        self,
        *,
        head: int | None,
        head_time: int | None,
        tip_block: int | None,
        progressed: bool,
        error: str | None,
        stalled: bool,
        reorg: bool,
        recovered: bool,
        lagging: int,
    ) -> None:
        """What the follower saw this pass (store.save_chain_state)."""
        ...

    async def mark_stopped(self, reason: str) -> None:
        """The chain must not be followed until repaired (kept across restarts)."""
        ...

    async def stopped_reason(self) -> str | None:
        """Why the chain is stopped, or None when it may be followed."""
        ...


class PgStore:
    """The Store of one chain in Postgres, through a pool (one connection per call)."""

    def __init__(self, pool: asyncpg.Pool, chain_id: int) -> None:
        self.pool = pool
        self.chain_id = chain_id

    async def indexed_ranges(self) -> list[Range]:
        async with self.pool.acquire() as conn:
            return await indexed_ranges(conn, self.chain_id)

    async def tip(self) -> tuple[int, str] | None:
        async with self.pool.acquire() as conn:
            return await tip(conn, self.chain_id)

    async def hash_at(self, block_number: int) -> str | None:
        async with self.pool.acquire() as conn:
            return await hash_at(conn, self.chain_id, block_number)

    async def stored_hashes(self, lo: int, hi: int) -> dict[int, str]:
        async with self.pool.acquire() as conn:
            return await stored_hashes(conn, self.chain_id, lo, hi)

    async def hashes_below(self, below: int, limit: int) -> dict[int, str]:
        async with self.pool.acquire() as conn:
            return await hashes_below(conn, self.chain_id, below, limit)

    async def commit_range(
        self, lo: int, hi: int, hi_hash: str, rows: EncodedRows, *, lo_parent: str
    ) -> dict[str, int]:
        async with self.pool.acquire() as conn:
            return await commit_range(conn, self.chain_id, lo, hi, hi_hash, rows, lo_parent=lo_parent)

    async def rollback(self, fork: int, ancestor_hash: str) -> dict[str, int]:
        async with self.pool.acquire() as conn, conn.transaction():
            await lock_chain(conn, self.chain_id)
            return await rollback(conn, self.chain_id, fork, ancestor_hash)

    async def prune_blocks(self, below: int) -> int:
        async with self.pool.acquire() as conn:
            return await prune_blocks(conn, self.chain_id, below)

    async def save_state(
        self,
        *,
        head: int | None,
        head_time: int | None,
        tip_block: int | None,
        progressed: bool,
        error: str | None,
        stalled: bool,
        reorg: bool,
        recovered: bool,
        lagging: int,
    ) -> None:
        async with self.pool.acquire() as conn:
            await save_chain_state(
                conn,
                self.chain_id,
                head=head,
                head_time=head_time,
                tip_block=tip_block,
                progressed=progressed,
                error=error,
                stalled=stalled,
                reorg=reorg,
                recovered=recovered,
                lagging=lagging,
            )

    async def mark_stopped(self, reason: str) -> None:
        async with self.pool.acquire() as conn:
            await mark_stopped(conn, self.chain_id, reason)

    async def stopped_reason(self) -> str | None:
        async with self.pool.acquire() as conn:
            return await stopped_reason(conn, self.chain_id)
