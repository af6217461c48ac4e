"""The chain side of the pipeline as follow and sync see it: the Source protocol."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from .chain import Block, Log, Tx

# A range's logs, the headers of their blocks (and of the range's ends and window), and the
# transactions their rows read, checked against each other (sync.fetch_range).
Fetched = tuple[list[Log], dict[int, Block], dict[str, Tx]]


class Source(Protocol):
    """One chain as one or more nodes serve it (sync.RpcSource over RPC; tests/fakes.py by hand).
    A refused range raises rpc.RangeTooLarge; every other failure an rpc.RpcError."""

    @property
    def url(self) -> str:
        """The node asked now (for logs; may carry a key, so redact before printing)."""
        ...

    @property
    def urls(self) -> Sequence[str]:
        """Every node that may be asked; rotate() moves to the next."""
        ...

    def rotate(self) -> None:
        """Ask the next node from now on (a second opinion, or a node that is not behind)."""
        ...

    async def block_by_tag(self, tag: str) -> Block:
        """The head as `tag` names it: latest, safe or finalized."""
        ...

    async def blocks(self, numbers: Iterable[int]) -> dict[int, Block]:
        """The canonical headers at these heights."""
        ...

    async def fetch(self, lo: int, hi: int, headers_from: int | None = None) -> Fetched:
        """[lo, hi] as sync.fetch_range documents it: with headers_from, every header from there to
        hi too, chained by parent hash."""
        ...
