"""A NUL character in an on-chain string (anyone can put one in a prompt sent to the inference
precompile) cannot stop the indexer: Postgres text and jsonb refuse U+0000, so decoded strings carry
U+FFFD instead, and the log's exact bytes stay in og.raw_logs.data. Written through the one COPY
path (binary payloads), and through asyncpg's own COPY of the same records as a reference."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import pytest
from eth_abi.abi import encode

from indexer import store
from indexer.abi import Param, event_map
from indexer.chain import Block, Log
from indexer.config import load_config
from indexer.encode import encode_rows
from indexer.rows import Rows, build_rows

HOSTILE = "gpt\x00-4.1\x00"
STORED = "gpt\ufffd-4.1\ufffd"
_ARRAY = re.compile(r"^(.*)\[(\d*)\]$")


def _value(typ: str, comps: tuple[Param, ...]) -> Any:
    """A value of the ABI type whose every string is HOSTILE (one item per dynamic array)."""
    m = _ARRAY.match(typ)
    if m is not None:
        return [_value(m.group(1), comps) for _ in range(int(m.group(2) or 1))]
    if typ.startswith("("):
        return tuple(_value(c.type, c.components) for c in comps)
    return HOSTILE if typ == "string" else 0 if "int" in typ else False if typ == "bool" else b""


def _rows() -> tuple[Rows, list[bytes]]:
    chain = load_config(None, {}).chain("opengradient")
    logs, data = [], []
    for role, name in (("inference_precompile", "LLMChat"), ("tee_registry", "PCRApproved")):
        contract = next(c for c in chain.contracts if c.role == role)
        ev = next(e for e in event_map(contract.abi_files).values() if e.name == name)
        body = encode([p.type for p in ev.unindexed], [_value(p.type, p.components) for p in ev.unindexed])
        topics = (ev.topic0, *("0x" + f"{i + 1:064x}" for i in range(len(ev.indexed))))
        logs.append(Log(7, "0x" + "11" * 32, "0x" + f"{len(logs) + 1:064x}", len(logs), len(logs),
                        contract.addresses[0], topics, body))
        data.append(body)
    rows = build_rows(chain, logs, {7: Block(7, "0x" + "11" * 32, "0x" + "10" * 32, 1_780_000_000)}, {})
    return rows, data


async def _check(conn: asyncpg.Connection, data: list[bytes]) -> None:
    raw = await conn.fetch("select status, data from og.raw_logs order by log_index")
    assert [(r["status"], bytes(r["data"])) for r in raw] == [("decoded", d) for d in data]
    inf = await conn.fetchrow("select model, request from og.inferences")
    assert inf["model"] == STORED
    assert STORED in inf["request"] and "\x00" not in inf["request"]
    tee = await conn.fetchval("select args from og.tee_events where event = 'PCRApproved'")
    assert STORED in tee


@pytest.mark.parametrize("path", ["records", "binary"])
async def test_a_nul_in_an_on_chain_string_is_stored_not_fatal(pool: asyncpg.Pool, path: str) -> None:
    rows, data = _rows()
    async with pool.acquire() as conn:
        async with conn.transaction():
            if path == "records":  # the reference: asyncpg's own COPY of the same rows
                for table, batch in rows.by_table.items():
                    await conn.copy_records_to_table(
                        table, schema_name="og", columns=list(type(batch[0]).columns()),
                        records=[r.values() for r in batch],
                    )
            else:
                await store.write_rows(conn, 10740, encode_rows(rows), fresh=True)
        await _check(conn, data)
