"""Typed chain data as fetched and validated from an RPC: logs, block headers, transactions."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Log:
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


@dataclass(frozen=True, slots=True)
class Block:
    number: int
    hash: str
    parent_hash: str
    timestamp: int  # unix seconds


@dataclass(frozen=True, slots=True)
class Tx:
    hash: str
    block_number: int
    block_hash: str
    tx_index: int
    sender: str
    to: str | None
    input: bytes
