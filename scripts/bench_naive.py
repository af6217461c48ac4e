"""The benchmark's reference: a naive pipeline (eth_getLogs -> eth_abi.decode per log -> asyncpg COPY)
timed per stage (fetch only, decode only, COPY only), on the same chains and span as og-indexer.

The naive pipeline is what a peer indexer reading plain RPC does: one span at a time, every log
decoded with eth-abi's generic decoder against the event its topic0 names, one generic row per log
(provenance, event name, the decoded arguments as text) copied into one table. No transactions, no headers.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import orjson
from eth_abi.abi import decode as abi_decode

from indexer.abi import EventSpec, event_map
from indexer.config import ChainConfig

NAIVE_TABLE = """
create table if not exists naive_logs (
    chain_id     integer not null,
    block_number bigint  not null,
    log_index    integer not null,
    tx_hash      text    not null,
    address      text    not null,
    event        text,
    args         text,
    primary key (chain_id, block_number, log_index)
)
"""
COLUMNS = ["chain_id", "block_number", "log_index", "tx_hash", "address", "event", "args"]


@dataclass
class StageTimes:
    fetch_s: float = 0.0
    decode_s: float = 0.0
    copy_s: float = 0.0
    logs: int = 0
    rpc_calls: dict[str, int] = field(default_factory=dict)


def _events(chain: ChainConfig) -> dict[str, Mapping[str, EventSpec]]:
    return {a: event_map(c.abi_files) for c in chain.contracts if c.watch for a in c.addresses}


def decode_one(chain_id: int, raw: dict[str, Any], events: Mapping[str, Mapping[str, EventSpec]]) -> tuple[Any, ...]:
    """One log to one generic row with eth_abi.decode (indexed topics, then data)."""
    topics = raw["topics"]
    ev = events.get(raw["address"], {}).get(topics[0]) if topics else None
    args: list[Any] | None = None
    name = None
    if ev is not None:
        name = ev.name
        args = []
        for p, t in zip(ev.indexed, topics[1:], strict=False):
            hashed = p.type in ("string", "bytes") or p.type.endswith("]") or p.type.startswith("(")
            args.append(t if hashed else abi_decode([p.type], bytes.fromhex(t[2:]))[0])
        body = ev.unindexed
        if body:
            args.extend(abi_decode([p.type for p in body], bytes.fromhex(raw["data"][2:])))
    return (
        chain_id,
        int(raw["blockNumber"], 16),
        int(raw["logIndex"], 16),
        raw["transactionHash"],
        raw["address"],
        name,
        None if args is None else repr(args),
    )


async def fetch_logs(session: aiohttp.ClientSession, url: str, addresses: Sequence[str], lo: int, hi: int) -> list[Any]:
    body = orjson.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs",
         "params": [{"fromBlock": hex(lo), "toBlock": hex(hi), "address": list(addresses)}]}
    )
    async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as resp:
        answer = orjson.loads(await resp.read())
    result: list[Any] = answer["result"]
    return result


def spans(lo: int, hi: int, span: int) -> list[tuple[int, int]]:
    return [(a, min(hi, a + span - 1)) for a in range(lo, hi + 1, span)]


def _addresses(chain: ChainConfig) -> list[str]:
    return sorted({a for c in chain.contracts if c.watch for a in c.addresses})


async def naive_pipeline(
    conn: asyncpg.Connection, chain: ChainConfig, url: str, lo: int, hi: int, span: int
) -> StageTimes:
    """Fetch, decode and COPY one span after the other. Nothing overlaps, so each stage's time is
    that stage alone: logs / fetch_s is the raw fetch rate, logs / decode_s the eth-abi decode rate,
    logs / copy_s the COPY rate."""
    await conn.execute(NAIVE_TABLE)
    st = StageTimes()
    events = _events(chain)
    addresses = _addresses(chain)
    async with aiohttp.ClientSession() as session:
        for a, b in spans(lo, hi, span):
            t0 = time.perf_counter()
            raw = await fetch_logs(session, url, addresses, a, b)
            t1 = time.perf_counter()
            records = [decode_one(chain.chain_id, r, events) for r in raw]
            t2 = time.perf_counter()
            await conn.copy_records_to_table("naive_logs", records=records, columns=COLUMNS)
            t3 = time.perf_counter()
            st.fetch_s += t1 - t0
            st.decode_s += t2 - t1
            st.copy_s += t3 - t2
            st.logs += len(raw)
            st.rpc_calls["eth_getLogs"] = st.rpc_calls.get("eth_getLogs", 0) + 1
    return st
