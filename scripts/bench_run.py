"""One measured pipeline run of the backfill benchmark, in its own process (so its peak RSS is its own).

Usage: python -m scripts.bench_run og|naive --dsn URL --og-url URL --base-url URL --span N|0 [--concurrency K]
Backfills both chains (OpenGradient, then Base) from block 0 to their heads into the given, already
created database and prints one JSON object: logs, rows, blocks, wall_s, stage seconds, RPC calls by
method, peak RSS (MiB) and the CPU seconds of this process and of its Postgres backends.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The pipelines' modules are imported where they are used: the decode process re-imports this script
# as its __main__ (spawn), and should load what `og-indexer backfill`'s does (indexer.entry), not
# asyncpg, aiohttp and the rest (0.2 s of CPU, measured).
if TYPE_CHECKING:
    import asyncpg

    from indexer.config import ChainConfig


def _chains(args: argparse.Namespace) -> list[ChainConfig]:
    from indexer.config import load_config

    cfg = load_config(None, {"OG_RPC_URL": args.og_url, "BASE_RPC_URL": args.base_url})
    chains = [cfg.chain(name) for name in ("opengradient", "base")]
    if not args.span:
        return chains  # the defaults
    if getattr(args, "fixed_span", False):
        # A swept span stays within the chain's configured ceiling, which stands for its providers'
        # cap (anvil has none): the sweep tunes spans as a user could, not the provider.
        return [replace(c, max_block_range=min(args.span, c.max_block_range)) for c in chains]
    return [replace(c, max_block_range=args.span) for c in chains]


class RssSampler(threading.Thread):
    """Samples the resident memory of this process and of its children (decode workers) every
    20 ms: the peak of their sum is what the backfill needed at once. ru_maxrss would not do: a
    process started by fork and exec inherits its parent's high-water mark."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_total_mib = 0.0
        self.peak_children_mib = 0.0
        self._halt = threading.Event()

    @staticmethod
    def _rss_mib(pid: int, field: str = "VmRSS") -> float:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    def _children(self) -> list[int]:
        pids: list[int] = []
        for task in Path(f"/proc/{os.getpid()}/task").iterdir():
            try:
                pids += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                continue
        return pids

    def run(self) -> None:
        while not self._halt.wait(0.02):
            try:
                children = sum(self._rss_mib(p) for p in self._children())
                total = self._rss_mib(os.getpid()) + children
            except OSError:
                continue  # a child exited between listing and reading
            self.peak_total_mib = max(self.peak_total_mib, total)
            self.peak_children_mib = max(self.peak_children_mib, children)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100


async def _backend_cpu_s(conn: asyncpg.Connection | asyncpg.Pool) -> float:
    """CPU seconds of every Postgres backend connected to this database (they are on this machine)."""
    total = 0.0
    for rec in await conn.fetch("select pid from pg_stat_activity where datname = current_database()"):
        try:
            total += _cpu_s(rec["pid"])
        except OSError:
            continue  # not visible from here (a remote server): reported as 0
    return total


async def run_og(args: argparse.Namespace) -> dict[str, Any]:
    from indexer import decodepool
    from indexer.db import create_pool
    from indexer.rpc import RpcClient
    from indexer.span import SpanControl
    from indexer.store import migrate
    from indexer.sync import backfill

    pool = await create_pool(args.dsn)
    out: dict[str, Any] = {"logs": 0, "rows": 0, "blocks": 0, "rpc_calls": {}, "http_requests": 0, "rpc_bytes": 0,
                           "stages_s": {"fetch": 0.0, "decode": 0.0, "write": 0.0}, "get_logs_min": 0}
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        started = time.perf_counter()
        for chain in _chains(args):
            async with RpcClient(chain.rpc_urls, chain_name=chain.name) as rpc:
                head = await rpc.block_number()
                # --fixed-span: every call spans max_block_range blocks, the density targets lifted, so
                # that a sweep measures each span as such (the provider's refusals still shrink it)
                spans = SpanControl(chain.max_block_range, target_logs=1 << 62, target_bytes=1 << 62)
                r = await backfill(rpc, pool, chain, 0, head, concurrency=args.concurrency,
                                   spans=spans if args.fixed_span else None)
                out["logs"] += r.logs
                out["rows"] += r.rows
                out["blocks"] += r.blocks
                out["get_logs_min"] += -(-(head + 1) // chain.max_block_range)
                out["stages_s"]["fetch"] += r.stages.fetch_s
                out["stages_s"]["decode"] += r.stages.decode_s
                out["stages_s"]["write"] += r.stages.write_s
                for method, n in rpc.stats.calls.items():
                    out["rpc_calls"][method] = out["rpc_calls"].get(method, 0) + n
                out["http_requests"] += rpc.stats.http_requests
                out["rpc_bytes"] += rpc.stats.bytes_received
        out["wall_s"] = time.perf_counter() - started
        out["pg_cpu_s"] = await _backend_cpu_s(pool)
    finally:
        await pool.close()
        decodepool.close()  # reaped now, so that its CPU time is counted below
    return out


async def run_naive(args: argparse.Namespace) -> dict[str, Any]:
    # Imported here: eth-abi's import weighs on the og run's memory and on its decode process, which
    # re-imports this script as its __main__.
    import asyncpg

    from indexer.rpc import RpcClient
    from scripts.bench_naive import naive_pipeline

    conn = await asyncpg.connect(args.dsn)
    out: dict[str, Any] = {"logs": 0, "blocks": 0, "rpc_calls": {"eth_getLogs": 0},
                           "stages_s": {"fetch": 0.0, "decode": 0.0, "copy": 0.0}}
    try:
        started = time.perf_counter()
        for chain in _chains(args):
            url = chain.rpc_urls[0]
            async with RpcClient([url]) as rpc:
                head = await rpc.block_number()
            st = await naive_pipeline(conn, chain, url, 0, head, chain.max_block_range)
            out["logs"] += st.logs
            out["blocks"] += head + 1
            out["rpc_calls"]["eth_getLogs"] += st.rpc_calls.get("eth_getLogs", 0)
            out["stages_s"]["fetch"] += st.fetch_s
            out["stages_s"]["decode"] += st.decode_s
            out["stages_s"]["copy"] += st.copy_s
        out["wall_s"] = time.perf_counter() - started
        out["rows"] = out["logs"]
        out["pg_cpu_s"] = await _backend_cpu_s(conn)
    finally:
        await conn.close()
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.splitlines()[0])
    p.add_argument("pipeline", choices=["og", "naive"])
    p.add_argument("--dsn", required=True)
    p.add_argument("--og-url", required=True)
    p.add_argument("--base-url", required=True)
    p.add_argument("--span", type=int, required=True, help="max_block_range of both chains; 0: their defaults")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--fixed-span", action="store_true",
                   help="og: every call spans --span blocks (no density adaptation), for the span sweep")
    args = p.parse_args()
    sampler = RssSampler()
    sampler.start()
    out = asyncio.run(run_og(args) if args.pipeline == "og" else run_naive(args))
    sampler.stop()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # decode worker processes, reaped by now
    # VmHWM, not ru_maxrss: ru_maxrss carries the parent's high-water mark over fork and exec.
    out["main_peak_rss_mib"] = RssSampler._rss_mib(os.getpid(), "VmHWM")
    out["peak_rss_mib"] = max(sampler.peak_total_mib, out["main_peak_rss_mib"])
    out["worker_peak_rss_mib"] = sampler.peak_children_mib
    out["cpu_s"] = _cpu_s_self() + children.ru_utime + children.ru_stime
    out["worker_cpu_s"] = children.ru_utime + children.ru_stime
    print(json.dumps(out))


def _cpu_s_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


if __name__ == "__main__":
    main()
