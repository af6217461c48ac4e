"""The pipeline: fetch block ranges, decode them, and commit rows with their checkpoint; redecode."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import asyncpg

from . import decodepool, store
from .batch import EncodedRows
from .chain import Block, Log, Tx
from .config import ChainConfig
from .encode import decode_range, encode_rows, pack_fetched
from .errors import OgIndexerError
from .rows import build_rows, tx_logs_reader, tx_reader
from .rpc import RangeTooLarge, RetryableError, RpcClient, RpcError, UnknownBlock
from .source import Fetched, Source
from .span import SpanControl, payload_bytes

log = logging.getLogger("og_indexer.sync")

ProgressFn = Callable[[int, int], None]  # (blocks done, logs done) increments


class SyncError(OgIndexerError):
    pass


@dataclass
class StageTimes:
    """Seconds spent per pipeline stage, summed over ranges (ranges overlap, so the sum may exceed
    the wall time): fetch (RPC, parse, validate), decode (logs to rows), write (commit)."""

    fetch_s: float = 0.0
    decode_s: float = 0.0
    write_s: float = 0.0


@dataclass
class BackfillResult:
    chain: str
    lo: int
    hi: int
    blocks: int = 0
    logs: int = 0
    rows: int = 0
    undecoded: int = 0
    undecoded_calls: int = 0  # transactions whose calldata a row reads and could not decode (columns NULL)
    ranges: int = 0
    skipped_blocks: int = 0
    elapsed_s: float = 0.0
    written: dict[str, int] = field(default_factory=dict)
    stages: StageTimes = field(default_factory=StageTimes)


# A backfill of at least this many ranges decodes in the decode process (on a machine with two or
# more cores): long enough to repay the process's start-up (about half a second).
DECODE_PROCESS_MIN_RANGES = 8


@contextlib.contextmanager
def _young_objects_collected_rarely() -> Iterator[None]:
    """A backfill allocates millions of short-lived, acyclic objects (parsed answers, logs, rows) that
    reference counting frees; with the default threshold the cyclic collector re-scans them every
    700 allocations, a quarter of the CPU time (measured). Raised for the backfill, then restored."""
    before = gc.get_threshold()
    gc.set_threshold(50_000, before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def addresses_for(chain: ChainConfig, lo: int, hi: int, *, in_read_transactions: bool = False) -> list[str]:
    """Addresses fetched by eth_getLogs (or, with in_read_transactions, those read only in the
    transactions our rows read: config `logs`) whose contract's active block range overlaps [lo, hi]."""
    out: list[str] = []
    for c in chain.contracts:
        if not (c.in_read_transactions if in_read_transactions else c.by_get_logs):
            continue
        if c.start_block > hi or (c.end_block is not None and c.end_block < lo):
            continue
        out.extend(c.addresses)
    return sorted(set(out))


async def fetch_range(
    rpc: RpcClient, chain: ChainConfig, lo: int, hi: int, headers_from: int | None = None
) -> tuple[list[Log], dict[int, Block], dict[str, Tx]]:
    """Logs of [lo, hi] with the headers of their blocks (and of lo and hi, the seams) and the
    transactions their rows read (rows.tx_reader), checked against each other; an inconsistent
    answer is fetched again.
    The logs of contracts read only in our transactions (config `logs = "transactions"`) are those
    they emit in the transactions rows.tx_logs_reader names: eth_getLogs by the hash of each block
    holding such a transaction (one call per block, batched beside the transactions), kept for those
    transactions only. So a contract shared with others (the x402 proxies) costs what our own
    transactions hold, not what theirs do, and nothing of theirs is stored.
    With headers_from, every header from there to hi is fetched too and must chain by parent hash
    (the unfinalized window, where reorgs are detected)."""
    addresses = addresses_for(chain, lo, hi)
    in_ours = addresses_for(chain, lo, hi, in_read_transactions=True)
    reads_tx = tx_reader(chain)
    reads_tx_logs = tx_logs_reader(chain)
    problem: str | None = None
    for attempt in range(4):
        logs = await rpc.get_logs(addresses, lo, hi) if addresses else []
        wanted = {g.block_number for g in logs} | {lo, hi}
        if headers_from is not None:
            wanted |= set(range(max(lo, headers_from), hi + 1))
        blocks = await rpc.blocks(wanted)
        ours = {g.tx_hash: g for g in logs if in_ours and reads_tx_logs(g)}  # transaction -> a log of it
        their_blocks = {g.block_hash for g in ours.values()}
        try:
            txs, in_blocks = await asyncio.gather(
                rpc.transactions({g.tx_hash for g in logs if reads_tx(g)}), rpc.logs_in_blocks(in_ours, their_blocks)
            )
        except UnknownBlock as e:  # a block of the range left the chain meanwhile: read it again
            problem = str(e)
        else:
            extra = [g for h in their_blocks for g in in_blocks[h] if g.tx_hash in ours]
            problem = _inconsistency(logs, blocks, txs) or _inconsistency(extra, blocks, {})
            if problem is None:
                problem = next((f"log {g.block_number}/{g.log_index} of {g.tx_hash} has index {g.tx_index}, "
                                f"another log of it says {ours[g.tx_hash].tx_index}"
                                for g in extra if g.tx_index != ours[g.tx_hash].tx_index), None)
            if problem is None:
                return _merged(logs, extra), blocks, txs
        log.warning(
            "inconsistent_answer chain=%s from=%d to=%d attempt=%d problem=%s",
            chain.name,
            lo,
            hi,
            attempt,
            problem,
        )
        await asyncio.sleep(0.5 * (attempt + 1))
    raise RetryableError(f"{chain.name} {lo}-{hi}: the RPC keeps giving inconsistent answers: {problem}")


def _merged(logs: list[Log], extra: list[Log]) -> list[Log]:
    """The range's logs and those of our transactions asked by block hash, one each, in chain order."""
    if not extra:
        return logs
    merged = {(g.block_number, g.log_index): g for g in logs}
    for g in extra:
        merged.setdefault((g.block_number, g.log_index), g)
    return [merged[k] for k in sorted(merged)]


def _inconsistency(logs: Sequence[Log], blocks: dict[int, Block], txs: dict[str, Tx]) -> str | None:
    for n, b in blocks.items():
        prev = blocks.get(n - 1)
        if prev is not None and b.parent_hash != prev.hash:
            return f"block {n} parent {b.parent_hash} is not block {n - 1} {prev.hash}"
    for g in logs:
        b = blocks[g.block_number]
        if b.hash != g.block_hash:
            return f"log {g.block_number}/{g.log_index} has block hash {g.block_hash}, header says {b.hash}"
        tx = txs.get(g.tx_hash)
        if tx is not None and (tx.block_hash != g.block_hash or tx.tx_index != g.tx_index):
            return f"transaction {g.tx_hash} is in block {tx.block_hash} index {tx.tx_index}, log says otherwise"
    return None


class RpcSource:
    """A chain's Source over RPC: the client's nodes, ranges fetched and checked by fetch_range."""

    def __init__(self, rpc: RpcClient, chain: ChainConfig) -> None:
        self.rpc = rpc
        self.chain = chain

    @property
    def url(self) -> str:
        return self.rpc.url

    @property
    def urls(self) -> Sequence[str]:
        return self.rpc.urls

    def rotate(self) -> None:
        self.rpc.rotate()

    async def block_by_tag(self, tag: str) -> Block:
        return await self.rpc.block_by_tag(tag)

    async def blocks(self, numbers: Iterable[int]) -> dict[int, Block]:
        return await self.rpc.blocks(numbers)

    async def fetch(self, lo: int, hi: int, headers_from: int | None = None) -> Fetched:
        return await fetch_range(self.rpc, self.chain, lo, hi, headers_from)


def as_source(source: Source | RpcClient, chain: ChainConfig) -> Source:
    """The CLI, scripts and tests pass an RPC client; follow and sync work on a Source."""
    return RpcSource(source, chain) if isinstance(source, RpcClient) else source


def as_store(dest: store.Store | asyncpg.Pool, chain: ChainConfig) -> store.Store:
    """The CLI, scripts and tests pass a pool; follow and sync work on a Store."""
    return store.PgStore(dest, chain.chain_id) if isinstance(dest, asyncpg.Pool) else dest


async def index_range(
    source: Source | RpcClient,
    dest: store.Store | asyncpg.Pool,
    chain: ChainConfig,
    lo: int,
    hi: int,
    *,
    headers_from: int | None = None,
    stages: StageTimes | None = None,
    decoder: Executor | None = None,
    spans: SpanControl | None = None,
) -> tuple[int, EncodedRows, dict[str, int]]:
    """Fetch, decode and commit one range (rows + checkpoint in one transaction). The range must
    chain onto the stored blocks around it by parent hash, else store.Discontinuity (a reorg) and
    nothing is written; the headers of lo and hi are stored for the next seam. With `decoder`
    (a process pool), the range is decoded and encoded there while this process fetches and writes
    other ranges. With `spans`, what the provider returned is reported to it as soon as it is
    fetched."""
    t0 = time.perf_counter()
    logs, blocks, txs = await as_source(source, chain).fetch(lo, hi, headers_from)
    if spans is not None:
        spans.observed(hi - lo + 1, len(logs), payload_bytes(logs))
    t1 = time.perf_counter()
    window = [b for n, b in blocks.items() if headers_from is not None and n >= headers_from]
    rows: EncodedRows
    if decoder is None:
        rows = encode_rows(build_rows(chain, logs, blocks, txs, checkpoint_blocks=[blocks[lo], blocks[hi], *window]))
    else:
        rows = await asyncio.get_running_loop().run_in_executor(
            decoder, decode_range, chain, pack_fetched(logs, txs), blocks, [blocks[lo], blocks[hi], *window]
        )
    n_logs = len(logs)
    del logs, txs  # the rows hold what is written; let the fetched answers go before the commit
    t2 = time.perf_counter()
    written = await as_store(dest, chain).commit_range(lo, hi, blocks[hi].hash, rows, lo_parent=blocks[lo].parent_hash)
    if stages is not None:
        stages.fetch_s += t1 - t0
        stages.decode_s += t2 - t1
        stages.write_s += time.perf_counter() - t2
    return n_logs, rows, written


async def backfill(
    source: Source | RpcClient,
    dest: store.Store | asyncpg.Pool,
    chain: ChainConfig,
    lo: int,
    hi: int,
    *,
    concurrency: int = 4,
    force: bool = False,
    progress: ProgressFn | None = None,
    stop: asyncio.Event | None = None,
    spans: SpanControl | None = None,
) -> BackfillResult:
    """Index [lo, hi] exactly once: ranges already indexed are skipped (unless force), the rest is
    fetched by `concurrency` workers in adaptive spans, each committed with its checkpoint. `spans`
    is the caller's span control when it keeps one across calls (the follower)."""
    if lo > hi:
        raise SyncError(f"--from {lo} is above --to {hi}")
    started = time.monotonic()
    result = BackfillResult(chain.name, lo, hi)
    source, dest = as_source(source, chain), as_store(dest, chain)
    done = [] if force else await dest.indexed_ranges()
    todo = store.gaps(lo, hi, done)
    result.skipped_blocks = (hi - lo + 1) - sum(r.hi - r.lo + 1 for r in todo)
    if progress and result.skipped_blocks:
        progress(result.skipped_blocks, 0)
    pending: list[tuple[int, int]] = [(r.lo, r.hi) for r in reversed(todo)]  # stack: lowest last
    spans = spans if spans is not None else SpanControl(chain.max_block_range, probe=True)
    n_ranges = sum(r.hi - r.lo + 1 for r in todo) // spans.span
    failure: list[BaseException] = []

    def take() -> tuple[int, int] | None:
        if failure or not pending or (stop is not None and stop.is_set()):
            return None
        a, b = pending.pop()
        end = min(b, a + spans.span - 1)
        if end < b:
            pending.append((end + 1, b))
        return a, end

    async def worker() -> None:
        while (r := take()) is not None:
            a, b = r
            t0 = time.monotonic()
            try:
                n_logs, rows, written = await index_range(
                    source, dest, chain, a, b, stages=result.stages, decoder=decoder, spans=spans,
                )
            except RangeTooLarge as e:
                span = spans.refused(a, b, e)
                log.info("range_refused chain=%s from=%d to=%d new_span=%d", chain.name, a, b, span)
                pending.append((a, b))
                continue
            except BaseException as e:
                failure.append(e)
                raise
            spans.succeeded()
            result.blocks += b - a + 1
            result.logs += n_logs
            result.rows += rows.count()
            result.undecoded += rows.undecoded
            result.undecoded_calls += len(rows.undecoded_calls)
            for call in rows.undecoded_calls:
                log.warning("undecoded_call chain=%s tx=%s role=%s error=%s", chain.name, call.tx_hash, call.role,
                            call.error)
            result.ranges += 1
            for t, n in written.items():
                result.written[t] = result.written.get(t, 0) + n
            log.debug(
                "range_done chain=%s from=%d to=%d logs=%d rows=%d elapsed_ms=%d",
                chain.name,
                a,
                b,
                n_logs,
                rows.count(),
                (time.monotonic() - t0) * 1000,
            )
            if progress:
                progress(b - a + 1, n_logs)

    with decodepool.decode_process(n_ranges >= DECODE_PROCESS_MIN_RANGES) as decoder:
        tasks = [asyncio.create_task(worker()) for _ in range(max(1, concurrency))]
        with _young_objects_collected_rarely():
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        if decoder is not None and any(isinstance(o, BrokenProcessPool) for o in outcomes):
            decodepool.discard(decoder)
    for o in outcomes:
        if isinstance(o, BaseException):
            if isinstance(o, RpcError | store.StoreError | SyncError):
                raise o
            raise SyncError(f"backfill {chain.name} {lo}-{hi} failed: {o!r}") from o
    result.elapsed_s = time.monotonic() - started
    return result


def _log_from_record(r: asyncpg.Record) -> Log:
    topics = tuple(t for t in (r["topic0"], r["topic1"], r["topic2"], r["topic3"]) if t is not None)
    return Log(
        r["block_number"],
        r["block_hash"],
        r["tx_hash"],
        r["tx_index"],
        r["log_index"],
        r["address"],
        topics,
        bytes(r["data"]),
    )


async def redecode(pool: asyncpg.Pool, chain: ChainConfig, chunk_blocks: int = 5000) -> Counter[str]:
    """Rebuild every decoded table of a chain from og.raw_logs (no RPC), in one transaction, a block
    chunk at a time so memory stays bounded. Returns rows rebuilt per table (and 'undecoded')."""
    total: Counter[str] = Counter()
    async with pool.acquire() as conn, conn.transaction():
        await store.lock_chain(conn, chain.chain_id)
        bounds = await store.raw_block_bounds(conn, chain.chain_id)
        touched = await store.all_tees(conn, chain.chain_id)
        if bounds is not None:
            for a in range(bounds[0], bounds[1] + 1, chunk_blocks):
                b = min(bounds[1], a + chunk_blocks - 1)
                raw, headers, txrecs = await store.read_raw(conn, chain.chain_id, a, b)
                if not raw:
                    continue
                logs = [_log_from_record(r) for r in raw]
                blocks = {
                    h["block_number"]: Block(
                        h["block_number"], h["block_hash"], h["parent_hash"], int(h["block_time"].timestamp())
                    )
                    for h in headers
                }
                txs = {
                    t["tx_hash"]: Tx(
                        t["tx_hash"],
                        t["block_number"],
                        t["block_hash"],
                        t["tx_index"],
                        t["tx_from"],
                        t["tx_to"],
                        bytes(t["input"] or b""),
                    )
                    for t in txrecs
                }
                rows = build_rows(chain, logs, blocks, txs)
                await store.delete_decoded(conn, chain.chain_id, a, b)
                await store.write_rows(conn, chain.chain_id, encode_rows(rows))
                for t, lst in rows.by_table.items():
                    total[t] += len(lst)
                total["undecoded"] += rows.undecoded
                touched |= rows.tees_touched
        await store.refresh_tees(conn, chain.chain_id, touched)
    return total
