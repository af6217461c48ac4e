"""Benchmark: the hot path's RPC client (indexer.rpc.RpcClient) against web3.py's AsyncWeb3.

Starts one anvil node (Base, 8453) with the devnet's log emitters, fills it with blocks of x402-like
transactions (OPG Transfers at the token, then Settled() at the upto proxy), then fetches the same
work through each client in turn, sequentially, as a backfill does: eth_getLogs over fixed block
ranges for the two addresses, then every transaction of those logs by hash in batches. Both
clients must return the same logs and transactions (checked). Prints wall time, this process's
CPU, anvil's CPU, calls and HTTP requests per client (median of --runs, alternating clients).

    .venv/bin/python -m scripts.bench_rpc_client [--blocks 500] [--txs-per-block 25] [--runs 3]

Figures are noisy on a shared machine: run it when the cores are otherwise idle.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3 import AsyncHTTPProvider, AsyncWeb3, Web3

from indexer.config import BASE
from indexer.devnet.anvil import AnvilNode, start_anvil
from indexer.devnet.anvil_client import AnvilClient
from indexer.devnet.contracts import install_chain
from indexer.devnet.plan import PlannedTx, event
from indexer.roles import Role
from indexer.rpc import RpcClient

TOKEN = BASE.addresses_with_role(Role.TOKEN)[0]
UPTO = BASE.addresses_with_role(Role.X402_UPTO)[0]
GENESIS = 1767225600
Client = Callable[[str, "Work"], Coroutine[Any, Any, "Run"]]
TX_BATCH = 200  # transactions per HTTP batch, both clients (indexer.rpc's default max_batch)


@dataclass(frozen=True)
class Work:
    ranges: list[tuple[int, int]]
    addresses: list[str]
    logs: int
    txs: int


@dataclass
class Run:
    wall_s: float
    cpu_s: float
    anvil_cpu_s: float
    calls: Counter[str] = field(default_factory=Counter)
    http_requests: int = 0
    digest: tuple[frozenset[tuple[Any, ...]], frozenset[tuple[str, str, str]]] = (frozenset(), frozenset())


def fill(node: AnvilNode, blocks: int, txs_per_block: int, transfers_per_tx: int) -> int:
    """Mine `blocks` blocks of settle-like transactions; returns the number of logs."""
    with AnvilClient(node.url, timeout=300.0) as rpc:
        install_chain(rpc)
        nonce: Counter[str] = Counter()
        for b in range(blocks):
            batch = []
            for t in range(txs_per_block):
                n = b * txs_per_block + t
                payer = "0x" + f"{n + 1:040x}"
                transfers = [event(BASE, TOKEN, "OPG_ERC20_Base.json", "Transfer", payer, BASE.pay_to[0],
                                   10**15 + k) for k in range(transfers_per_tx)]
                emits = (*transfers, event(BASE, UPTO, "x402UptoPermit2Proxy.json", "Settled"))
                tx = PlannedTx(GENESIS + 2 * (b + 1), "0x" + "fa" * 20, UPTO, n.to_bytes(32, "big"), emits)
                batch.append(("eth_sendTransaction", [{
                    "from": tx.sender, "to": tx.to, "data": "0x" + tx.input.hex(), "gas": hex(tx.gas),
                    "gasPrice": "0x0", "value": "0x0", "nonce": hex(nonce[tx.sender]),
                }]))
                nonce[tx.sender] += 1
            rpc.batch(batch)
            rpc.call("evm_mine", [GENESIS + 2 * (b + 1)])
    return blocks * txs_per_block * (transfers_per_tx + 1)


def anvil_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime in clock ticks (USER_HZ 100)


async def with_ours(url: str, work: Work) -> Run:
    run = Run(0, 0, 0)
    async with RpcClient([url], chain_name="base") as rpc:
        logs = []
        for lo, hi in work.ranges:
            logs += await rpc.get_logs(work.addresses, lo, hi)
        txs = await rpc.transactions({g.tx_hash for g in logs})
        run.calls, run.http_requests = Counter(rpc.stats.calls), rpc.stats.http_requests
    run.digest = (
        frozenset((g.block_number, g.log_index, g.tx_hash, g.address, tuple(g.topics), g.data.hex())
                  for g in logs),
        frozenset((h, t.sender, t.input.hex()) for h, t in txs.items()),
    )
    return run


async def with_web3(url: str, work: Work) -> Run:
    """web3 with its default middleware, as a user gets it."""
    return await _web3(AsyncWeb3(AsyncHTTPProvider(url)), work)


async def with_bare_web3(url: str, work: Work) -> Run:
    """web3 without middleware: what is left is its transport and result formatters."""
    return await _web3(AsyncWeb3(AsyncHTTPProvider(url), middleware=[]), work)


async def _web3(w3: AsyncWeb3[AsyncHTTPProvider], work: Work) -> Run:
    run = Run(0, 0, 0)
    try:
        addresses = [Web3.to_checksum_address(a) for a in work.addresses]
        logs: list[Any] = []
        for lo, hi in work.ranges:
            logs += await w3.eth.get_logs({"fromBlock": lo, "toBlock": hi, "address": addresses})
            run.calls["eth_getLogs"] += 1
            run.http_requests += 1
        hashes = sorted({g["transactionHash"] for g in logs})
        txs: list[Any] = []
        for i in range(0, len(hashes), TX_BATCH):
            async with w3.batch_requests() as batch:
                for h in hashes[i : i + TX_BATCH]:
                    batch.add(w3.eth.get_transaction(h))
                txs += await batch.async_execute()
            run.calls["eth_getTransactionByHash"] += len(hashes[i : i + TX_BATCH])
            run.http_requests += 1
    finally:
        await w3.provider.disconnect()
    run.digest = (
        frozenset((g["blockNumber"], g["logIndex"], "0x" + g["transactionHash"].hex(), g["address"].lower(),
                   tuple("0x" + t.hex() for t in g["topics"]), g["data"].hex()) for g in logs),
        frozenset(("0x" + t["hash"].hex(), t["from"].lower(), t["input"].hex()) for t in txs),
    )
    return run


def measure(node: AnvilNode, fn: Client, work: Work) -> Run:
    anvil0, cpu0, t0 = anvil_cpu(node.pid), time.process_time(), time.perf_counter()
    run = asyncio.run(fn(node.url, work))
    run.wall_s, run.cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    run.anvil_cpu_s = anvil_cpu(node.pid) - anvil0
    return run


def fmt(values: list[float], digits: int = 2) -> str:
    med = statistics.median(values)
    return f"{med:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main() -> None:
    ap = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.split("\n\n")[0])
    ap.add_argument("--blocks", type=int, default=500)
    ap.add_argument("--txs-per-block", type=int, default=25)
    ap.add_argument("--transfers-per-tx", type=int, default=3)
    ap.add_argument("--range", type=int, default=100, help="blocks per eth_getLogs")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    node = start_anvil(BASE.chain_id)
    try:
        t0 = time.perf_counter()
        n_logs = fill(node, args.blocks, args.txs_per_block, args.transfers_per_tx)
        print(f"filled anvil: {args.blocks} blocks, {args.blocks * args.txs_per_block} txs, {n_logs} logs "
              f"in {time.perf_counter() - t0:.1f}s")
        work = Work([(lo, min(lo + args.range - 1, args.blocks)) for lo in range(1, args.blocks + 1, args.range)],
                    sorted({TOKEN, UPTO}), n_logs, args.blocks * args.txs_per_block)
        clients: dict[str, Client] = {
            "indexer.rpc.RpcClient": with_ours, "web3 AsyncHTTPProvider": with_web3,
            "same, no middleware": with_bare_web3}
        runs: dict[str, list[Run]] = {name: [] for name in clients}
        for _ in range(args.runs):
            for name, fn in clients.items():
                runs[name].append(measure(node, fn, work))
        digests = {r.digest for rs in runs.values() for r in rs}
        if len(digests) != 1:
            raise SystemExit("the clients returned different logs or transactions")
        logs, txs = next(iter(digests))
        if (len(logs), len(txs)) != (work.logs, work.txs):
            raise SystemExit(f"expected {work.logs} logs and {work.txs} txs, got {len(logs)} and {len(txs)}")
        print(f"same {len(logs)} logs and {len(txs)} transactions from both clients; median (min-max) of "
              f"{args.runs} runs")
        rows: list[tuple[str, Callable[[Run], float], int]] = [
            ("wall s", lambda r: r.wall_s, 2),
            ("client CPU s (this process)", lambda r: r.cpu_s, 2),
            ("client CPU µs per log + tx", lambda r: 1e6 * r.cpu_s / (work.logs + work.txs), 1),
            ("anvil CPU s", lambda r: r.anvil_cpu_s, 2),
        ]
        print(f"{'':32}" + "".join(f"{name:>28}" for name in clients))
        for label, get, digits in rows:
            print(f"{label:32}" + "".join(f"{fmt([get(r) for r in runs[n]], digits):>28}" for n in clients))
        counts: list[tuple[str, Callable[[Run], int]]] = [("eth_getLogs calls", lambda r: r.calls["eth_getLogs"]),
                             ("eth_getTransactionByHash calls", lambda r: r.calls["eth_getTransactionByHash"]),
                             ("HTTP requests", lambda r: r.http_requests)]
        for label, count in counts:
            print(f"{label:32}" + "".join(f"{count(runs[n][0]):>28}" for n in clients))
    finally:
        node.stop()


if __name__ == "__main__":
    main()
