"""What every store module shares: the connection type, the store's errors, the chain writer lock."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from ..errors import OgIndexerError
from ..resources import data_dir

SQL_DIR = data_dir("sql")


_CHAIN_LOCK_BASE = 0x06_1E_00_00  # + chain id: serialises writers of one chain


# A connection, pooled or not: every function here works inside the caller's transaction.
Conn = asyncpg.Connection | PoolConnectionProxy


class StoreError(OgIndexerError):
    pass


class HashMismatch(StoreError):
    """A block already stored has another hash than the one just fetched: the chain reorganised."""

    def __init__(self, chain_id: int, block_number: int, stored: str, fetched: str) -> None:
        super().__init__(
            f"chain {chain_id} block {block_number}: stored hash {stored} differs from fetched {fetched}"
        )
        self.chain_id = chain_id
        self.block_number = block_number


class Discontinuity(StoreError):
    """A range does not chain onto a stored neighbouring block by parent hash: the chain reorganised
    since one of the two was fetched. block_number is the stored block now in doubt."""

    def __init__(self, chain_id: int, block_number: int, detail: str) -> None:
        super().__init__(
            f"chain {chain_id}: {detail}: the chain reorganised, nothing was written "
            "(og-indexer run rolls a reorg back, or stops naming the repair)"
        )
        self.chain_id = chain_id
        self.block_number = block_number


@dataclass(frozen=True)
class Range:
    lo: int
    hi: int


async def lock_chain(conn: Conn, chain_id: int) -> None:
    await conn.execute("select pg_advisory_xact_lock($1)", _CHAIN_LOCK_BASE + chain_id)
