"""Backfill benchmark: og-indexer against a naive reference pipeline on a dense, seeded devnet load.

Usage: .venv/bin/python -m scripts.bench [--logs 200000] [--runs 3] [--seed 42] [--span 100]
       [--concurrency 2] [--dsn postgresql://postgres@127.0.0.1:5432/test] [--json results.json]
   or: .venv/bin/python -m scripts.bench --shapes real,dense-payload,sparse [--sweep 25,50,100,200,500,2000]
       [--provider] [--runs 3] ...   (the default-settings table, see shapes_main)
   or: .venv/bin/python scripts/bench.py --foreign-x402 10 [--logs 20000] ...   (see foreign_main)

Starts two anvil chains (10740, 8453) with emitters at the real addresses, mines the load of
scripts/bench_load.py (about --logs logs, ~100 per block per chain), then per run backfills both
chains into a fresh scratch database with og-indexer and, on another fresh database, with the naive
pipeline of scripts/bench_naive.py (eth_getLogs -> eth_abi.decode per log -> COPY), each in its own
process. Every og-indexer run's tables are checked against the load's ground truth (a mismatch
fails the benchmark). Prints one table: median (min-max) over the runs of blocks/s, logs/s,
rows/s, peak RSS, CPU (and the CPU per log of indexer, Postgres and anvil together), RPC calls by
method and time per stage, and og-indexer's ratio to the naive pipeline, to each naive stage alone
(fetch only, decode only, COPY only) and in CPU per log. Ratios are what to track: absolute
figures drift with the machine's load. The chains and databases are removed at the
end, whatever happens; every subprocess is bounded by --timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg

from indexer import db
from indexer.devnet.anvil import AnvilNode, start_chain_pair
from indexer.tables import TransactionRow
from scripts import bench_load, bench_shapes
from scripts.bench_provider import Profile, ProviderProxy, minimum_work

ROOT = Path(__file__).resolve().parent.parent

# A measured run is its own process (its peak RSS is its own), started as a module from the checkout.
RUN = (sys.executable, "-m", "scripts.bench_run")
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
TARGETS = {"ratio_naive": 2.0, "logs_per_s": 25_000, "peak_rss_mib": 250, "get_logs_ratio": 1.2}


def scratch_db(dsn: str) -> contextlib.AbstractContextManager[str]:
    """A new empty database on the server of dsn, dropped on exit."""
    return db.temporary_database(dsn, "ogbench")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100


def run_pipeline(kind: str, dsn: str, nodes: tuple[AnvilNode, AnvilNode], args: argparse.Namespace) -> dict[str, Any]:
    og, base = nodes
    cmd = [
        *RUN, kind, "--dsn", dsn, "--og-url", og.url,
        "--base-url", base.url, "--span", str(args.span), "--concurrency", str(args.concurrency),
    ]
    anvil_before = sum(_cpu_s(n.pid) for n in nodes)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, check=False, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["anvil_cpu_s"] = sum(_cpu_s(n.pid) for n in nodes) - anvil_before
    return out


def verify(dsn: str, load: bench_load.Load) -> None:
    async def go() -> list[str]:
        conn = await asyncpg.connect(dsn)
        try:
            return await bench_load.check(conn, load)
        finally:
            await conn.close()

    problems = asyncio.run(go())
    if problems:
        raise SystemExit("og-indexer's tables differ from the load's ground truth:\n  " + "\n  ".join(problems))


def prepare(args: argparse.Namespace) -> tuple[bench_load.Load, tuple[AnvilNode, AnvilNode], dict[str, float]]:
    t0 = time.perf_counter()
    load = bench_load.generate(args.logs, args.seed)
    t1 = time.perf_counter()
    nodes = start_chain_pair()
    try:
        _mine(nodes, load)
    except BaseException:
        for n in nodes:
            n.stop()
        raise
    return load, nodes, {"generate_s": t1 - t0, "mine_s": time.perf_counter() - t1}


# --- the table -----------------------------------------------------------------------------------


def _med(values: list[float]) -> str:
    m = statistics.median(values)
    if len(values) == 1:
        return _num(m)
    return f"{_num(m)} ({_num(min(values))}-{_num(max(values))})"


def _num(v: float) -> str:
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def summarize(og_runs: list[dict[str, Any]], naive_runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-run derived figures; the table and the JSON show their median, min and max."""

    def rates(r: dict[str, Any]) -> dict[str, float]:
        return {
            "blocks_per_s": r["blocks"] / r["wall_s"],
            "logs_per_s": r["logs"] / r["wall_s"],
            "rows_per_s": r["rows"] / r["wall_s"],
            # CPU of everything the run made busy, per log: steadier than wall time on shared cores
            "cpu_us_per_log": (r["cpu_s"] + r["pg_cpu_s"] + r["anvil_cpu_s"]) / max(r["logs"], 1) * 1e6,
        }

    per_run = []
    for og, nv in zip(og_runs, naive_runs, strict=True):
        o, n = rates(og), rates(nv)
        st = nv["stages_s"]
        fetch_rate, decode_rate, copy_rate = (nv["logs"] / max(st[k], 1e-9) for k in ("fetch", "decode", "copy"))
        per_run.append(
            {
                "og": {**o, "wall_s": og["wall_s"], "peak_rss_mib": og["peak_rss_mib"], "cpu_s": og["cpu_s"],
                       "main_peak_rss_mib": og["main_peak_rss_mib"], "worker_peak_rss_mib": og["worker_peak_rss_mib"],
                       "worker_cpu_s": og["worker_cpu_s"], "pg_cpu_s": og["pg_cpu_s"], "anvil_cpu_s": og["anvil_cpu_s"],
                       **{f"{k}_s": v for k, v in og["stages_s"].items()}},
                "naive": {**n, "wall_s": nv["wall_s"], "peak_rss_mib": nv["peak_rss_mib"], "cpu_s": nv["cpu_s"],
                          "main_peak_rss_mib": nv["main_peak_rss_mib"], "worker_peak_rss_mib": 0.0,
                          "worker_cpu_s": 0.0, "pg_cpu_s": nv["pg_cpu_s"], "anvil_cpu_s": nv["anvil_cpu_s"],
                          **{f"{k}_s": v for k, v in st.items()}},
                "stage_rates": {"fetch_only": fetch_rate, "decode_only": decode_rate, "copy_only": copy_rate},
                "ratios": {
                    "vs_naive": o["logs_per_s"] / n["logs_per_s"],
                    "cpu_per_log_vs_naive": o["cpu_us_per_log"] / n["cpu_us_per_log"],
                    "vs_fetch_only": o["logs_per_s"] / fetch_rate,
                    "vs_decode_only": o["logs_per_s"] / decode_rate,
                    "vs_copy_only": o["logs_per_s"] / copy_rate,
                },
            }
        )
    return {"runs": per_run}


def table(args: argparse.Namespace, load: bench_load.Load, prep: dict[str, float], summary: dict[str, Any],
          og_runs: list[dict[str, Any]]) -> str:
    runs = summary["runs"]

    def col(path: Callable[[dict[str, Any]], float]) -> str:
        return _med([path(r) for r in runs])

    calls = og_runs[-1]["rpc_calls"]
    txs = load.base.txs + load.og.txs
    read = sum(c.expected(TransactionRow, bench_load.ROWS) for c in load.chains)
    lines = [
        f"og-indexer backfill benchmark: {load.logs:,} logs, {load.base.txs + load.og.txs:,} txs, "
        f"{len(load.base.blocks) + len(load.og.blocks):,} blocks (2 chains), seed {args.seed}, "
        f"span {args.span}, concurrency {args.concurrency}, {len(runs)} run(s): median (min-max)",
        f"load: generate {prep['generate_s']:.1f} s, mine {prep['mine_s']:.1f} s",
        "",
        f"{'':<26}{'og-indexer':>34}{'naive (getLogs->eth_abi->COPY)':>36}",
    ]

    def row(label: str, key: str) -> None:
        lines.append(f"{label:<26}{col(lambda r: r['og'][key]):>34}{col(lambda r: r['naive'][key]):>36}")

    row("blocks/s", "blocks_per_s")
    row("logs/s", "logs_per_s")
    row("rows/s", "rows_per_s")
    row("wall s", "wall_s")
    row("peak RSS MiB (all procs)", "peak_rss_mib")
    row("  main process", "main_peak_rss_mib")
    row("  decode worker process", "worker_peak_rss_mib")
    row("CPU s: indexer (all)", "cpu_s")
    row("  decode worker process", "worker_cpu_s")
    row("CPU s: postgres backends", "pg_cpu_s")
    row("CPU s: anvil (RPC)", "anvil_cpu_s")
    row("CPU us per log (all three)", "cpu_us_per_log")
    lines.append(
        f"{'stage s (summed):':<26}"
        f"{'fetch ' + col(lambda r: r['og']['fetch_s']):>34}{'fetch ' + col(lambda r: r['naive']['fetch_s']):>36}"
    )
    lines.append(
        f"{'':<26}{'decode ' + col(lambda r: r['og']['decode_s']):>34}"
        f"{'decode ' + col(lambda r: r['naive']['decode_s']):>36}"
    )
    lines.append(
        f"{'':<26}{'write ' + col(lambda r: r['og']['write_s']):>34}{'copy ' + col(lambda r: r['naive']['copy_s']):>36}"
    )
    get_logs_min = og_runs[-1]["get_logs_min"]
    lines += [
        "",
        "RPC calls (og-indexer, last run): "
        + ", ".join(f"{m} {n:,}" for m, n in sorted(calls.items()))
        + f"; {og_runs[-1]['http_requests']:,} HTTP requests",
        f"  eth_getLogs {calls.get('eth_getLogs', 0):,} vs minimum {get_logs_min:,} for span {args.span} "
        f"({calls.get('eth_getLogs', 0) / max(get_logs_min, 1):.2f}x); eth_getTransactionByHash "
        f"{calls.get('eth_getTransactionByHash', 0):,} for {read:,} transactions a row reads, of {txs:,} with "
        "a matched log",
        "",
        "naive stages alone (logs/s):  fetch only " + col(lambda r: r["stage_rates"]["fetch_only"])
        + "   decode only " + col(lambda r: r["stage_rates"]["decode_only"])
        + "   COPY only " + col(lambda r: r["stage_rates"]["copy_only"]),
        "og-indexer logs/s ratio to:   naive " + col(lambda r: r["ratios"]["vs_naive"])
        + "   fetch only " + col(lambda r: r["ratios"]["vs_fetch_only"])
        + "   decode only " + col(lambda r: r["ratios"]["vs_decode_only"])
        + "   COPY only " + col(lambda r: r["ratios"]["vs_copy_only"]),
        "og-indexer CPU per log (indexer + Postgres + anvil) ratio to naive: "
        + col(lambda r: r["ratios"]["cpu_per_log_vs_naive"]),
        "",
        "targets (median): " + "; ".join(_targets(runs, calls, get_logs_min)),
        "ground truth: every og-indexer run's tables equal the load's (row counts and sums per table)",
    ]
    return "\n".join(lines)


def _targets(runs: list[dict[str, Any]], calls: dict[str, int], get_logs_min: int) -> list[str]:
    ratio = statistics.median(r["ratios"]["vs_naive"] for r in runs)
    lps = statistics.median(r["og"]["logs_per_s"] for r in runs)
    rss = statistics.median(r["og"]["peak_rss_mib"] for r in runs)
    gl = calls.get("eth_getLogs", 0) / max(get_logs_min, 1)

    def mark(ok: bool) -> str:
        return "met" if ok else "NOT met"

    return [
        f">= {TARGETS['ratio_naive']}x naive: {ratio:.2f}x {mark(ratio >= TARGETS['ratio_naive'])}",
        f">= {TARGETS['logs_per_s']:,} logs/s: {lps:,.0f} {mark(lps >= TARGETS['logs_per_s'])}",
        f"peak RSS <= {TARGETS['peak_rss_mib']} MiB: {rss:.0f} {mark(rss <= TARGETS['peak_rss_mib'])}",
        f"eth_getLogs <= {TARGETS['get_logs_ratio']}x minimum: {gl:.2f}x {mark(gl <= TARGETS['get_logs_ratio'])}",
    ]


# --- load shapes at the default settings --------------------------------------------------------

SHAPES = ("real", "dense-payload", "sparse")
DEFAULT_CONCURRENCY = 4  # `og-indexer backfill --concurrency`'s default


def _shape_load(shape: str, args: argparse.Namespace) -> bench_load.Load:
    if shape == "real":
        return bench_load.generate(args.logs, args.seed)
    if shape == "dense-payload":
        return bench_shapes.dense_payload(args.seed)
    return bench_shapes.sparse(args.seed, args.sparse_blocks, args.sparse_gap)


def _mine(nodes: tuple[AnvilNode, AnvilNode], load: bench_load.Load) -> float:
    t0 = time.perf_counter()
    errors: list[BaseException] = []

    def mine(node: AnvilNode, chain: bench_load.ChainLoad) -> None:
        try:
            bench_load.mine(node, chain)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=mine, args=(n, c)) for n, c in zip(nodes, load.chains, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - t0


def _run(kind: str, dsn: str, urls: tuple[str, str], nodes: tuple[AnvilNode, AnvilNode], span: int,
         timeout: float) -> dict[str, Any]:
    cmd = [*RUN, kind, "--dsn", dsn, "--og-url", urls[0],
           "--base-url", urls[1], "--span", str(span), "--concurrency", str(DEFAULT_CONCURRENCY)]
    if kind == "og" and span:
        cmd.append("--fixed-span")  # a swept span is used as such: the density targets would cap it
    anvil_before = sum(_cpu_s(n.pid) for n in nodes)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT)
    if proc.returncode != 0:
        what = f"{kind} run (span {span or 'default'})"
        raise SystemExit(f"{what} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["anvil_cpu_s"] = sum(_cpu_s(n.pid) for n in nodes) - anvil_before
    out["logs_per_s"] = out["logs"] / out["wall_s"]
    out["cpu_us_per_log"] = (out["cpu_s"] + out["pg_cpu_s"] + out["anvil_cpu_s"]) / max(out["logs"], 1) * 1e6
    return out


def _provider_bound(load: bench_load.Load, profile: Profile) -> float:
    """logs/s no client can beat through this provider (bench_provider.minimum_work, Profile.bound_s)."""
    get_logs = calls = http = 0
    for chain in load.chains:
        with_logs = sum(1 for b in chain.blocks if any(t.emits for t in b))
        txs_read = chain.expected(TransactionRow, bench_load.ROWS)
        paid = sum(1 for b in chain.blocks if any(t.to in (bench_load.UPTO, bench_load.EXACT) for t in b))
        g, c, h = minimum_work(len(chain.blocks) + 1, chain.logs, with_logs, txs_read, profile, payment_blocks=paid)
        get_logs, calls, http = get_logs + g, calls + c, http + h
    return load.logs / profile.bound_s(get_logs, calls, http, DEFAULT_CONCURRENCY)


def shapes_main(args: argparse.Namespace) -> None:
    """Per shape: og-indexer at its default settings (max_block_range, density-adaptive spans and
    concurrency as shipped) and at every swept fixed span (every eth_getLogs call that many blocks),
    `--runs` times interleaved, each run checked against the ground truth; the naive pipeline at the
    default spans (not with --provider: it handles no refusal). Prints one row per shape: default vs
    best swept logs/s, peak RSS, eth_getLogs calls, CPU per log vs naive, and with --provider the
    provider-bound rate and og-indexer's share of it."""
    shapes = [x.strip() for x in args.shapes.split(",") if x.strip()]
    bad = [x for x in shapes if x not in SHAPES]
    if bad:
        raise SystemExit(f"unknown shape(s) {', '.join(bad)}; known: {', '.join(SHAPES)}")
    sweep = [int(x) for x in args.sweep.split(",") if x.strip()]
    profile = Profile() if args.provider else None
    rows: list[dict[str, Any]] = []
    for shape in shapes:
        load = _shape_load(shape, args)
        nodes = start_chain_pair(keep_history=shape != "sparse")  # the backfill reads no historical state
        proxies: list[ProviderProxy] = []
        try:
            mine_s = _mine(nodes, load)
            urls = (nodes[0].url, nodes[1].url)
            if profile is not None:
                proxies = [ProviderProxy(n.url, profile).start() for n in nodes]
                urls = (proxies[0].url, proxies[1].url)
            og: dict[int, list[dict[str, Any]]] = {s: [] for s in [0, *sweep]}
            naive: list[dict[str, Any]] = []
            for i in range(args.runs):
                order = list(og)
                for span in order[i % len(order):] + order[: i % len(order)]:  # rotated: drift spreads evenly
                    with scratch_db(args.dsn) as dsn:
                        og[span].append(_run("og", dsn, urls, nodes, span, args.timeout))
                        verify(dsn, load)
                if profile is None:
                    with scratch_db(args.dsn) as dsn:
                        naive.append(_run("naive", dsn, urls, nodes, 0, args.timeout))
                print(f"{shape} run {i + 1}/{args.runs}: default {og[0][-1]['logs_per_s']:,.0f} logs/s, "
                      + ", ".join(f"{s}: {og[s][-1]['logs_per_s']:,.0f}" for s in sweep), file=sys.stderr)
        finally:
            for proxy in proxies:
                proxy.stop()
            for n in nodes:
                n.stop()
        med = {s: statistics.median(r["logs_per_s"] for r in runs) for s, runs in og.items()}
        best = max(sweep, key=lambda s: med[s]) if sweep else 0
        d = og[0]
        row: dict[str, Any] = {
            "shape": shape, "logs": load.logs, "blocks": sum(len(c.blocks) for c in load.chains), "mine_s": mine_s,
            "default_logs_per_s": med[0], "best_span": best, "best_logs_per_s": med[best],
            "default_vs_best": med[0] / med[best],
            "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in d),
            "max_peak_rss_mib_swept": max(r["peak_rss_mib"] for runs in og.values() for r in runs),
            "get_logs": d[-1]["rpc_calls"].get("eth_getLogs", 0), "get_logs_min": d[-1]["get_logs_min"],
            "cpu_us_per_log": statistics.median(r["cpu_us_per_log"] for r in d),
            "swept": {str(s): med[s] for s in sweep},
            "runs": {str(s): runs for s, runs in og.items()},
        }
        if naive:
            row["naive_cpu_us_per_log"] = statistics.median(r["cpu_us_per_log"] for r in naive)
            row["cpu_vs_naive"] = row["cpu_us_per_log"] / row["naive_cpu_us_per_log"]
            row["naive_logs_per_s"] = statistics.median(r["logs_per_s"] for r in naive)
        if profile is not None:
            row["provider_bound_logs_per_s"] = _provider_bound(load, profile)
            row["vs_provider_bound"] = med[0] / row["provider_bound_logs_per_s"]
            row["proxy"] = [p.counts() for p in proxies]
        rows.append(row)
        print(shapes_table(args, rows[-1:], profile), file=sys.stderr)  # each shape as it is done
        if args.json:
            args.json.write_text(json.dumps({"config": {k: str(v) for k, v in vars(args).items()},
                                             "shapes": rows}, indent=2))
    print(shapes_table(args, rows, profile))


def shapes_table(args: argparse.Namespace, rows: list[dict[str, Any]], profile: Profile | None) -> str:
    lines = [
        f"og-indexer at default settings (max_block_range as configured, concurrency {DEFAULT_CONCURRENCY}) vs "
        f"a sweep of fixed spans ({args.sweep} blocks per eth_getLogs call, at most each chain's "
        f"max_block_range); median of {args.runs} run(s); "
        + (f"provider profile: {profile.describe()}" if profile else "direct to anvil"),
        "",
        f"{'shape':<14}{'logs':>9}{'blocks':>11}{'default logs/s':>16}{'best span':>11}{'best logs/s':>13}"
        f"{'default/best':>14}{'peak RSS MiB':>14}{'getLogs (min)':>15}{'CPU us/log':>12}"
        + (f"{'vs naive':>10}" if profile is None else f"{'bound logs/s':>14}{'vs bound':>10}"),
    ]
    for r in rows:
        tail = (f"{r.get('cpu_vs_naive', 0):>9.2f}x" if profile is None
                else f"{r['provider_bound_logs_per_s']:>14,.0f}{r['vs_provider_bound']:>9.0%} ")
        lines.append(
            f"{r['shape']:<14}{r['logs']:>9,}{r['blocks']:>11,}{r['default_logs_per_s']:>16,.0f}{r['best_span']:>11}"
            f"{r['best_logs_per_s']:>13,.0f}{r['default_vs_best']:>13.0%} {r['peak_rss_mib']:>13.0f}"
            f"{str(r['get_logs']) + ' (' + str(r['get_logs_min']) + ')':>15}{r['cpu_us_per_log']:>12.0f}" + tail
        )
    lines += ["", "swept logs/s by fixed span (blocks per eth_getLogs call):"]
    for r in rows:
        lines.append(f"  {r['shape']:<14}" + "  ".join(f"{s}: {v:,.0f}" for s, v in r["swept"].items())
                     + f"   (highest peak RSS over the sweep {r['max_peak_rss_mib_swept']:.0f} MiB)")
    lines += [
        "",
        "targets: default >= 90 % of the best swept span; peak RSS <= 250 MiB; >= 85 % of the provider-bound rate;",
        "CPU per log (indexer, Postgres and anvil) <= 1.2x naive on the real mix; ground truth equal on every run.",
        "The machine is shared: absolute figures are noisy, compare within one run of this script.",
    ]
    return "\n".join(lines)


# --- foreign x402 traffic (issue #17) -------------------------------------------------------------


async def _stored_rows(dsn: str) -> dict[str, int]:
    from collections import Counter

    from indexer.store import table_counts

    conn = await asyncpg.connect(dsn)
    try:
        out: Counter[str] = Counter()
        for chain_id in (8453, 10740):
            out.update(await table_counts(conn, chain_id))
        out["blocks"] = await conn.fetchval("select count(*) from og.blocks")
        return dict(out)
    finally:
        await conn.close()


def foreign_main(args: argparse.Namespace) -> None:
    """og-indexer on the real mix alone, then on the same mix with other merchants' x402 settlements
    (same proxies, a USDC-like token) at --foreign-x402 times the mix's own in each Base block: eth_*
    calls by method, bytes fetched and stored rows of both, with the difference. Each run is checked
    against the mix's ground truth; fresh chains and databases for each, removed at the end."""
    runs: dict[str, dict[str, Any]] = {}
    for label, multiple in (("without", 0), ("with", args.foreign_x402)):
        load = bench_load.generate(args.logs, args.seed)
        added = bench_load.add_foreign_x402(load, multiple, args.seed)
        nodes = start_chain_pair()
        try:
            mine_s = _mine(nodes, load)
            with scratch_db(args.dsn) as dsn:
                run = run_pipeline("og", dsn, nodes, args)
                verify(dsn, load)
                run["stored"] = asyncio.run(_stored_rows(dsn))
        finally:
            for n in nodes:
                n.stop()
        run["foreign_txs"], run["mine_s"] = added, mine_s
        runs[label] = run
        print(f"{label} foreign x402: {added:,} foreign settlements, {run['logs']:,} logs indexed in "
              f"{run['wall_s']:.1f}s", file=sys.stderr)
    print(foreign_table(args, runs["without"], runs["with"]))
    if args.json:
        args.json.write_text(json.dumps({"config": {k: str(v) for k, v in vars(args).items()}, **runs}, indent=2))


def foreign_table(args: argparse.Namespace, alone: dict[str, Any], crowded: dict[str, Any]) -> str:
    def line(name: str, a: int, b: int) -> str:
        diff = (b - a) / a if a else (0.0 if b == a else float("inf"))
        return f"  {name:<28}{a:>14,}{b:>14,}{diff:>+10.1%}"

    lines = [
        f"og-indexer on the real mix ({args.logs:,} logs, seed {args.seed}, span {args.span}, concurrency "
        f"{args.concurrency}) without and with foreign x402 traffic at {args.foreign_x402}x "
        f"({crowded['foreign_txs']:,} settlements through the same proxies)",
        f"  {'':<28}{'without':>14}{'with':>14}{'diff':>10}",
    ]
    methods = sorted(m for m in alone["rpc_calls"].keys() | crowded["rpc_calls"].keys() if m.startswith("eth_"))
    for m in methods:
        lines.append(line(m, alone["rpc_calls"].get(m, 0), crowded["rpc_calls"].get(m, 0)))
    lines.append(line("eth_* calls", sum(alone["rpc_calls"].get(m, 0) for m in methods),
                      sum(crowded["rpc_calls"].get(m, 0) for m in methods)))
    lines.append(line("bytes fetched", alone["rpc_bytes"], crowded["rpc_bytes"]))
    for t in sorted(alone["stored"].keys() | crowded["stored"].keys()):
        lines.append(line(f"rows: {t}", alone["stored"].get(t, 0), crowded["stored"].get(t, 0)))
    lines.append(line("rows stored", sum(alone["stored"].values()), sum(crowded["stored"].values())))
    lines.append("target: eth_* calls and stored rows within 5 % of the run without; ground truth equal on both.")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.splitlines()[0])
    p.add_argument("--logs", type=int, default=200_000, help="logs to generate (default 200000)")
    p.add_argument("--runs", type=int, default=3, help="runs of each pipeline (default 3)")
    p.add_argument("--seed", type=int, default=42, help="load seed (default 42)")
    p.add_argument("--span", type=int, default=100,
                   help="eth_getLogs block range cap in force, both pipelines (default 100: ~6k logs per call on Base)")
    p.add_argument("--concurrency", type=int, default=2,
                   help="og-indexer ranges in flight (default 2; with the decode process as fast as 4, less memory)")
    p.add_argument("--dsn", default=DEFAULT_DSN, help=f"Postgres server for scratch databases (default {DEFAULT_DSN})")
    p.add_argument("--timeout", type=float, default=900, help="seconds allowed per pipeline run (default 900)")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--shapes", help="comma-separated load shapes (real, dense-payload, sparse): og-indexer at its "
                   "default settings against a span sweep, instead of the table above")
    p.add_argument("--sweep", default="25,50,100,200,500,2000",
                   help="fixed spans (blocks per eth_getLogs call, density adaptation off) swept with --shapes")
    p.add_argument("--provider", action="store_true",
                   help="with --shapes: every call through a loopback proxy with a hosted provider's latency, caps "
                   "and rate limit (bench_provider.Profile)")
    p.add_argument("--sparse-blocks", type=int, default=bench_shapes.SPARSE_BLOCKS,
                   help=f"blocks per chain of the sparse shape (default {bench_shapes.SPARSE_BLOCKS:,})")
    p.add_argument("--sparse-gap", type=int, default=bench_shapes.SPARSE_GAP,
                   help=f"blocks per log of the sparse shape, on each chain (default {bench_shapes.SPARSE_GAP:,})")
    p.add_argument("--foreign-x402", type=int, default=0, metavar="N",
                   help="instead of the table above: og-indexer on the real mix without and with other merchants' "
                   "x402 settlements at N times its own (issue #17), calls, bytes and rows compared (default 0: off)")
    args = p.parse_args()
    if args.logs < 1000 or args.runs < 1:
        p.error("--logs must be >= 1000 and --runs >= 1")
    if args.foreign_x402 > 0:
        foreign_main(args)
        return
    if args.shapes:
        shapes_main(args)
        return

    load, nodes, prep = prepare(args)
    og_runs: list[dict[str, Any]] = []
    naive_runs: list[dict[str, Any]] = []
    try:
        for i in range(args.runs):
            with scratch_db(args.dsn) as dsn:
                og_runs.append(run_pipeline("og", dsn, nodes, args))
                verify(dsn, load)
            with scratch_db(args.dsn) as dsn:
                naive_runs.append(run_pipeline("naive", dsn, nodes, args))
            if naive_runs[-1]["logs"] != load.logs or og_runs[-1]["logs"] != load.logs:
                raise SystemExit(f"run {i + 1}: a pipeline saw {og_runs[-1]['logs']} / {naive_runs[-1]['logs']} "
                                 f"logs, the load has {load.logs}")
            print(f"run {i + 1}/{args.runs}: og-indexer {og_runs[-1]['logs'] / og_runs[-1]['wall_s']:,.0f} logs/s, "
                  f"naive {naive_runs[-1]['logs'] / naive_runs[-1]['wall_s']:,.0f} logs/s", file=sys.stderr)
    finally:
        for n in nodes:
            n.stop()
    summary = summarize(og_runs, naive_runs)
    print(table(args, load, prep, summary, og_runs))
    if args.json:
        args.json.write_text(json.dumps({
            "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "load": {"logs": load.logs, "txs": load.base.txs + load.og.txs,
                     "blocks": len(load.base.blocks) + len(load.og.blocks), **prep},
            "og_runs": og_runs, "naive_runs": naive_runs, **summary,
        }, indent=2))


if __name__ == "__main__":
    main()
