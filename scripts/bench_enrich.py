"""Benchmark Walrus enrichment: N blobs from the loopback aggregator stand-in with added latency.

Usage: .venv/bin/python -m scripts.bench_enrich [--dsn URL] [--blobs N] [--latency-ms MS]
       [--concurrency C]

Builds a scratch database on the server of --dsn (default $DATABASE_URL) holding N trusted
individual settlements with distinct blob ids, writes N real-format individual payloads (about
1.5 KB each) to a temporary folder, starts the stand-in as its own process with the given latency
before every answer, and runs one `enrich` pass in this process. Prints requests per second
against the bound concurrency / latency, the share of it reached, and this process's peak RSS.
The stand-in, the folder and the database are removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from indexer import db, store
from indexer.devnet.aggregator import stop_pid
from indexer.devnet.anvil import free_port
from indexer.walrus.client import FetchOptions
from indexer.walrus.enrich import enrich

ROOT = Path(__file__).resolve().parent.parent

MODELS = ("openai/gpt-4.1-2025-04-14", "anthropic/claude-sonnet-4-5", "openai/gpt-5-mini", "google/gemini-2.5-flash")
TEE = "0x" + "ab" * 32
UPTO = "0x6C5a3FF0ad0A3bE8a4CBd1f5Ab0e0c4D9a6A7E4F"


def blob_id(i: int) -> str:
    return base64.urlsafe_b64encode(i.to_bytes(32, "big")).rstrip(b"=").decode()


def payload(rng: random.Random, i: int) -> bytes:
    prompt, completion = rng.randint(20, 3000), rng.randint(5, 1500)
    return orjson.dumps({
        "input": {"model": rng.choice(MODELS), "max_tokens": 1024,
                  "messages": [{"role": "user", "content": "Summarise the ETH market today. " * 12}]},
        "output": {"id": f"chatcmpl-{i}", "object": "chat.completion", "created": 1_778_000_000 + i,
                   "model": "gpt-4.1", "choices": [{"index": 0, "finish_reason": "stop", "message": {
                       "role": "assistant", "content": "ETH traded sideways with thin volume. " * 15}}],
                   "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                             "total_tokens": prompt + completion},
                   "tee_id": TEE, "tee_timestamp": 1_778_000_000 + i},
        "teeSignature": base64.b64encode(rng.randbytes(65)).decode(), "teeId": TEE,
        "timestamp": str(1_778_000_000 + i), "ethAddress": UPTO,
    })


SETTLEMENTS = """
insert into og.settlements (chain_id, block_number, block_hash, block_time, tx_hash, log_index, relay, kind,
    inferences, tee_id, eth_address, tee_timestamp, walrus_blob_id, verified_on_chain, tx_from, trusted)
select 10740, i, '0xb' || i, timestamptz '2026-05-04' + i * interval '1 second', '0xt' || i, 0, '0xrelay',
       'individual', 1, $2, lower($3), 1778000000 + i, ($1::text[])[i], true, '0xrelayer', true
from generate_series(1, cardinality($1::text[])) i
"""


async def run(scratch: str, url: str, ids: list[str], latency_ms: int, concurrency: int) -> None:
    pool = await db.create_pool(scratch)
    try:
        async with pool.acquire() as conn:
            await store.migrate(conn)
            await conn.execute(SETTLEMENTS, ids, TEE, UPTO)
        began, cpu0 = time.monotonic(), time.process_time()
        result = await enrich(pool, [url], FetchOptions(concurrency=concurrency))
        elapsed, cpu = time.monotonic() - began, time.process_time() - cpu0
        parsed = await pool.fetchval("select count(*) from og.walrus_individual where status = 'parsed'")
    finally:
        await pool.close()
    bound = concurrency / (latency_ms / 1000)
    rate = result.requested / elapsed
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"blobs {result.requested}  outcomes {dict(result.outcomes)}  parsed rows {parsed}")
    print(f"elapsed {elapsed:.1f} s  requests/s {rate:.1f}  bound {bound:.0f} (concurrency {concurrency} / "
          f"{latency_ms} ms)  reached {100 * rate / bound:.1f} %  (target >= 80 %)")
    print(f"enrich CPU {cpu:.1f} s ({1e6 * cpu / max(result.requested, 1):.0f} us per blob); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")
    print(f"peak RSS {rss_mib:.0f} MiB (target <= 250 MiB)")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a child process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench(dsn: str, n: int, latency_ms: int, concurrency: int) -> None:
    rng = random.Random(13)
    ids = [blob_id(i) for i in range(n)]
    with tempfile.TemporaryDirectory(prefix="og_bench_walrus_") as tmp, \
            db.temporary_database(dsn, "og_bench_enrich") as scratch:
        for i, b in enumerate(ids):
            (Path(tmp) / b).write_bytes(payload(rng, i))
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "indexer.devnet.aggregator", "--dir", tmp, "--port",
                                 str(port), "--latency-ms", str(latency_ms)], cwd=ROOT)
        try:
            time.sleep(1.5)  # the stand-in binds its port
            asyncio.run(run(scratch, f"http://127.0.0.1:{port}", ids, latency_ms, concurrency))
            print(f"stand-in CPU {cpu_seconds(proc.pid):.1f} s (its own process)")
        finally:
            stop_pid(proc.pid)
            proc.wait(timeout=10)


def main() -> None:
    p = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.splitlines()[0])
    p.add_argument("--dsn", default=os.environ.get("DATABASE_URL"), help="server URL (default $DATABASE_URL)")
    p.add_argument("--blobs", type=int, default=10_000)
    p.add_argument("--latency-ms", type=int, default=50)
    p.add_argument("--concurrency", type=int, default=16)
    a = p.parse_args()
    if not a.dsn:
        p.error("give --dsn or set DATABASE_URL")
    bench(a.dsn, a.blobs, a.latency_ms, a.concurrency)


if __name__ == "__main__":
    main()
