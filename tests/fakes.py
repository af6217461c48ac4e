"""In-memory fakes of the pipeline's two boundaries: a hand-built chain (a Source) and a store (a Store).

FakeChain is built Shovel style: blocks with a hash and a parent, the logs of each; a reorg replaces
the blocks from N on with a new branch; a node may serve a head below the real one, or another chain
altogether (a node that lies); a provider cap refuses wide ranges. It answers what sync.fetch_range
asks an RPC client, so its ranges come through the real fetch and its checks.
FakeStore keeps what the pipeline commits as COPY tuples keyed by each table's declared key, with the
Postgres store's seam checks and exactly-once semantics; it decodes nothing (the rows are the
EncodedRows the pipeline built) and keeps no derived state (og.tees).
The integration tests against anvil and Postgres stay the proof; these make the logic fast to test.
At the end, what drives them: payments to mine, a follower converged until idle."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from indexer.batch import EncodedRows
from indexer.chain import Block, Log, Tx
from indexer.config import BASE, ChainConfig
from indexer.devnet.plan import PlannedTx, event
from indexer.follow import Follower, Outcome
from indexer.rpc import RangeTooLarge, RpcError, UnknownBlock
from indexer.source import Fetched
from indexer.store import Discontinuity, HashMismatch, Range
from indexer.sync import fetch_range
from indexer.tables import ROW_TYPES

# --- the chain ------------------------------------------------------------------------------------


def block_hash(branch: str, number: int) -> str:
    return "0x" + hashlib.sha256(f"{branch}/{number}".encode()).hexdigest()


@dataclass
class FakeChain:
    """A chain and the nodes serving it (`urls`, one per node), a Source. Block 0 is an empty genesis."""

    config: ChainConfig
    urls: list[str] = field(default_factory=lambda: ["fake://node-0"])
    t0: int = 1_778_000_000
    max_span: int | None = None  # the provider's eth_getLogs cap: wider ranges are refused
    canonical: list[Block] = field(init=False)
    logs: dict[str, list[Log]] = field(init=False, default_factory=dict)  # by block hash
    txs: dict[str, Tx] = field(init=False, default_factory=dict)
    lag: dict[int, int] = field(init=False, default_factory=dict)  # node -> blocks its head is behind
    views: dict[int, FakeChain] = field(init=False, default_factory=dict)  # node -> the chain it serves
    refused: int = field(init=False, default=0)
    branch: str = field(init=False, default="a")
    _active: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.canonical = [Block(0, block_hash("genesis", 0), "0x" + "00" * 32, self.t0)]
        self.logs[self.canonical[0].hash] = []

    @property
    def head(self) -> int:
        return len(self.canonical) - 1

    def mine(self, *blocks: Sequence[PlannedTx]) -> None:
        """Append one block per argument, holding those transactions and their logs."""
        for txs in blocks:
            n = len(self.canonical)
            b = Block(n, block_hash(self.branch, n), self.canonical[-1].hash, self.t0 + 60 * n)
            logs: list[Log] = []
            for i, p in enumerate(txs):
                tx_hash = block_hash(b.hash, i)
                self.txs[tx_hash] = Tx(tx_hash, n, b.hash, i, p.sender, p.to, p.input)
                for e in p.emits:
                    topics = tuple("0x" + t.hex() for t in e.log.topics)
                    logs.append(Log(n, b.hash, tx_hash, i, len(logs), e.log.address, topics, e.log.data))
            self.canonical.append(b)
            self.logs[b.hash] = logs

    def copy(self) -> FakeChain:
        """Another chain with the same blocks so far (reorg it for a node that disagrees)."""
        return copy.deepcopy(self)

    def reorg(self, fork: int, branch: str) -> None:
        """Drop blocks fork.. (the next mine() builds on fork - 1 with hashes of `branch`)."""
        assert 0 < fork <= self.head and branch != self.branch
        del self.canonical[fork:]
        self.branch = branch

    # --- Source ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.urls[self._active]

    def rotate(self) -> None:
        self._active = (self._active + 1) % len(self.urls)

    def _served(self) -> tuple[FakeChain, int]:
        """The chain the node asked now serves, and the head it says."""
        view = self.views.get(self._active, self)
        return view, view.head - self.lag.get(self._active, 0)

    async def block_by_tag(self, tag: str) -> Block:
        assert tag == "latest", tag
        await asyncio.sleep(0)  # every answer comes later, as over a network: concurrent callers interleave
        view, top = self._served()
        return view.canonical[top]

    async def blocks(self, numbers: Iterable[int]) -> dict[int, Block]:
        await asyncio.sleep(0)
        view, top = self._served()
        out: dict[int, Block] = {}
        for n in numbers:
            if not 0 <= n <= top:
                raise RpcError(f"{self.url}: no block {n} (head {top})")
            out[n] = view.canonical[n]
        return out

    async def fetch(self, lo: int, hi: int, headers_from: int | None = None) -> Fetched:
        """The real sync.fetch_range over this chain's RPC answers below (its checks, the logs of our
        transactions asked by block hash)."""
        return await fetch_range(self, self.config, lo, hi, headers_from)  # type: ignore[arg-type]

    # --- what fetch_range asks an rpc.RpcClient ---------------------------------------------------

    async def get_logs(self, addresses: Sequence[str], lo: int, hi: int) -> list[Log]:
        if self.max_span is not None and hi - lo + 1 > self.max_span:
            self.refused += 1
            raise RangeTooLarge(f"range {lo}-{hi} over {self.max_span} blocks", None, self.max_span)
        await asyncio.sleep(0)
        view, top = self._served()
        if hi > top:
            raise RpcError(f"{self.url}: logs up to {hi} asked, head {top}")
        wanted = set(addresses)
        return [g for b in view.canonical[lo : hi + 1] for g in view.logs[b.hash] if g.address in wanted]

    async def transactions(self, hashes: Iterable[str]) -> dict[str, Tx]:
        await asyncio.sleep(0)
        view, _ = self._served()
        return {h: view.txs[h] for h in hashes}

    async def logs_in_blocks(self, addresses: Sequence[str], block_hashes: Iterable[str]) -> dict[str, list[Log]]:
        await asyncio.sleep(0)
        view, _ = self._served()
        wanted = set(addresses)
        out: dict[str, list[Log]] = {}
        for h in block_hashes:
            if h not in view.logs:
                raise UnknownBlock(f"{self.url}: unknown block {h}")
            out[h] = [g for g in view.logs[h] if g.address in wanted]
        return out


# --- the store ------------------------------------------------------------------------------------

Tuple = tuple[bytes | None, ...]  # one row as COPY binary fields (None: NULL)
_KEYS = {rt.TABLE: rt.KEY for rt in ROW_TYPES}
_COPY_HEADER = 19  # signature (11), flags (4), header extension length (4, always 0 here)


def copy_tuples(payload: bytes) -> Iterator[Tuple]:
    """The rows of a COPY binary payload, each as its fields' bytes: framing only, no value is read."""
    pos = _COPY_HEADER
    while True:
        (n,) = struct.unpack_from(">h", payload, pos)
        pos += 2
        if n == -1:
            return
        fields: list[bytes | None] = []
        for _ in range(n):
            (size,) = struct.unpack_from(">i", payload, pos)
            pos += 4
            fields.append(None if size == -1 else payload[pos : pos + size])
            pos += max(size, 0)
        yield tuple(fields)


def _int(b: bytes | None) -> int:
    assert b is not None
    return int.from_bytes(b, "big", signed=True)


def _text(b: bytes | None) -> str:
    assert b is not None
    return b.decode()


@dataclass
class FakeStore:
    """One chain's store in memory: rows per table keyed by the table's key, headers, checkpoint."""

    chain_id: int = 0
    rows: dict[str, dict[Tuple, Tuple]] = field(default_factory=dict)
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ranges: dict[int, tuple[int, str]] = field(default_factory=dict)  # from_block -> (to_block, to_hash)
    states: list[dict[str, Any]] = field(default_factory=list)
    stopped: str | None = None
    commits: int = 0
    forks: list[int] = field(default_factory=list)  # of each rollback, in order

    def _col(self, table: str, row: Tuple, column: str) -> bytes | None:
        return row[self.columns[table].index(column)]

    def headers(self) -> dict[int, tuple[str, str]]:
        """Stored block headers: number -> (hash, parent hash)."""
        return {
            _int(self._col("blocks", r, "block_number")): (
                _text(self._col("blocks", r, "block_hash")),
                _text(self._col("blocks", r, "parent_hash")),
            )
            for r in self.rows.get("blocks", {}).values()
        }

    def content(self) -> dict[str, set[Tuple]]:
        """Every table's rows but the headers (which depend on how ranges were split)."""
        return {t: set(rs.values()) for t, rs in self.rows.items() if t != "blocks" and rs}

    # --- Store ----------------------------------------------------------------------------------

    async def indexed_ranges(self) -> list[Range]:
        return [Range(lo, hi) for lo, (hi, _) in sorted(self.ranges.items())]

    async def tip(self) -> tuple[int, str] | None:
        return max(self.ranges.values(), default=None)

    async def hash_at(self, block_number: int) -> str | None:
        header = self.headers().get(block_number)
        if header is not None:
            return header[0]
        return next((h for hi, h in self.ranges.values() if hi == block_number), None)

    async def stored_hashes(self, lo: int, hi: int) -> dict[int, str]:
        return {n: h for n, (h, _) in self.headers().items() if lo <= n <= hi}

    async def hashes_below(self, below: int, limit: int) -> dict[int, str]:
        found = sorted(((n, h) for n, (h, _) in self.headers().items() if n < below), reverse=True)
        return dict(found[:limit])

    async def commit_range(
        self, lo: int, hi: int, hi_hash: str, rows: EncodedRows, *, lo_parent: str
    ) -> dict[str, int]:
        """Checks first, then writes that cannot fail: all or nothing, as one transaction."""
        await asyncio.sleep(0)
        cid, stored = self.chain_id, self.headers()
        below = await self.hash_at(lo - 1)
        if below is not None and below != lo_parent:
            raise Discontinuity(cid, lo - 1, f"block {lo} has parent {lo_parent}, stored {lo - 1} is {below}")
        above = stored.get(hi + 1)
        if above is not None and above[1] != hi_hash:
            raise Discontinuity(cid, hi + 1, f"stored block {hi + 1} has parent {above[1]}, block {hi} is {hi_hash}")
        for n, h in rows.block_hashes:
            if n in stored and stored[n][0] != h:
                raise HashMismatch(self.chain_id, n, stored[n][0], h)
        written: dict[str, int] = {}
        for t in rows.tables:
            self.columns[t.table] = t.columns
            key = [t.columns.index(c) for c in _KEYS[t.table]]
            table = self.rows.setdefault(t.table, {})
            written[t.table] = 0
            for r in copy_tuples(t.payload):
                k = tuple(r[i] for i in key)
                if k not in table:
                    table[k] = r
                    written[t.table] += 1
        self._add_range(lo, hi, hi_hash)
        self.commits += 1
        return written

    def _add_range(self, lo: int, hi: int, hi_hash: str) -> None:
        """Merge [lo, hi] with the ranges it overlaps or touches (store.add_range)."""
        touching = [(a, b, h) for a, (b, h) in self.ranges.items() if b >= lo - 1 and a <= hi + 1]
        new_lo, new_hi, new_hash = lo, hi, hi_hash
        for a, b, h in touching:
            new_lo = min(new_lo, a)
            if b > new_hi:
                new_hi, new_hash = b, h
            del self.ranges[a]
        self.ranges[new_lo] = (new_hi, new_hash)

    async def rollback(self, fork: int, ancestor_hash: str) -> dict[str, int]:
        self.forks.append(fork)
        deleted: dict[str, int] = {}
        for t, table in self.rows.items():
            if "block_number" not in self.columns[t]:
                continue
            gone = [k for k, r in table.items() if _int(self._col(t, r, "block_number")) >= fork]
            for k in gone:
                del table[k]
            deleted[t] = len(gone)
        for a, (b, _) in list(self.ranges.items()):
            if a >= fork:
                del self.ranges[a]
            elif b >= fork:
                self.ranges[a] = (fork - 1, ancestor_hash)
        return deleted

    async def prune_blocks(self, below: int) -> int:
        with_logs = {_int(self._col("raw_logs", r, "block_number")) for r in self.rows.get("raw_logs", {}).values()}
        ends = {b for b, _ in self.ranges.values()}
        blocks = self.rows.get("blocks", {})
        gone = [
            k
            for k, r in blocks.items()
            if (n := _int(self._col("blocks", r, "block_number"))) < below and n not in with_logs and n not in ends
        ]
        for k in gone:
            del blocks[k]
        return len(gone)

    async def save_state(self, **state: Any) -> None:
        self.states.append(state)

    async def mark_stopped(self, reason: str) -> None:
        self.stopped = reason

    async def stopped_reason(self) -> str | None:
        return self.stopped


# --- driving them ---------------------------------------------------------------------------------

OPG = BASE.addresses_with_role("token")[0]
UPTO = BASE.addresses_with_role("x402_upto")[0]
FACILITATOR = "0x" + "fa" * 20


def payment(n: int) -> PlannedTx:
    """An x402 settle of 1000 + n by payer n on Base: OPG Transfer, then the proxy's Settled."""
    emits = (
        event(BASE, OPG, "OPG_ERC20_Base.json", "Transfer", "0x" + f"{n:040x}", BASE.pay_to[0], 1000 + n),
        event(BASE, UPTO, "x402UptoPermit2Proxy.json", "Settled"),
    )
    return PlannedTx(0, FACILITATOR, UPTO, b"", emits)


def pay(chain: FakeChain, first: int, n: int) -> None:
    """Mine n blocks, one payment each, by payers first, first + 1, ..."""
    chain.mine(*([payment(first + i)] for i in range(n)))


async def converge_until_idle(f: Follower, most: int = 30) -> list[Outcome]:
    """converge() until it answers NOTHING_NEW or LAGGING; the outcomes in order."""
    outcomes: list[Outcome] = []
    while not outcomes or outcomes[-1] not in (Outcome.NOTHING_NEW, Outcome.LAGGING):
        assert len(outcomes) < most, outcomes
        outcomes.append(await f.converge())
    return outcomes
