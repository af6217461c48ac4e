"""What a block range writes, encoded for COPY: the hand-over from the decode worker to the store."""

from __future__ import annotations

from dataclasses import dataclass, field

from .roles import Role


@dataclass(frozen=True)
class UndecodedCall:
    """A transaction whose input a handler read and could not decode (its log's row is still written)."""

    tx_hash: str
    role: Role
    error: str


@dataclass(frozen=True, slots=True)
class EncodedTable:
    table: str
    columns: tuple[str, ...]
    n_rows: int
    payload: bytes  # COPY binary format (indexer.encode): header, one tuple per row, trailer


@dataclass
class EncodedRows:
    """A range's rows, encoded per table, with what the commit needs besides them."""

    tables: list[EncodedTable] = field(default_factory=list)
    block_hashes: list[tuple[int, str]] = field(default_factory=list)  # of the blocks rows
    tees_touched: set[tuple[str, str]] = field(default_factory=set)
    undecoded: int = 0
    undecoded_calls: list[UndecodedCall] = field(default_factory=list)  # rows.Rows.undecoded_calls

    def count(self) -> int:
        return sum(t.n_rows for t in self.tables)
