"""Typed chain data as fetched and validated from an RPC: logs, block headers, transactions."""

from __future__ import annotations

from typing import NamedTuple

# Named tuples, not dataclasses: a backfill builds one per fetched log and transaction, and a
# named tuple is built 2.5x faster than a frozen dataclass and crosses to the decode process as a
# plain tuple (measured: 200k logs built, pickled and unpickled in 0.45 s against 1.35 s).


class Log(NamedTuple):
    """One log as the RPC returned it (validated: hex parsed, every field present)."""

    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    address: str  # lowercase
    topics: tuple[str, ...]  # lowercase 0x-hex
    data: bytes

    @property
    def topic0(self) -> str | None:
        return self.topics[0] if self.topics else None


class Block(NamedTuple):
    number: int
    hash: str
    parent_hash: str
    timestamp: int  # unix seconds


class Tx(NamedTuple):
    hash: str
    block_number: int
    block_hash: str
    tx_index: int
    sender: str
    to: str | None
    input: bytes
