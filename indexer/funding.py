"""Funding trace upkeep: write the configured address labels and read eth_getCode of unlabelled funders.

The trace itself is SQL (sql/views/05_funding_transfers.sql, 06_payer_funding.sql) over the typed
token transfers and payments, so it is right after any reorg or redecode; the two tables written
here are its only inputs that do not come from logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from .config import ChainConfig
from .roles import Role
from .rpc import RpcClient, RpcError
from .store import Conn, lock_chain

log = logging.getLogger("og_indexer.funding")

# Config list -> label. pay_to addresses are insiders (OpenGradient's revenue wallets).
LABEL_SOURCES = (("insiders", "insider"), ("pay_to", "insider"), ("bridges", "bridge"), ("markets", "market"))


@dataclass(frozen=True)
class FundingResult:
    labels: int  # address labels in force for the chain
    checked: int  # funders whose code was read now (= eth_getCode calls)
    contracts: int  # of those, addresses with code at the funding block


async def write_labels(conn: Conn, chain: ChainConfig) -> int:
    """Replace the chain's address labels: those of the configuration in force, and as insiders
    (source 'payments') every payee, facilitator and settle sender the x402 payments name. The
    views read them from this table rather than scanning every payment on each query."""
    rows = sorted(
        {(chain.chain_id, a, label, key) for key, label in LABEL_SOURCES for a in getattr(chain, key)}
    )
    async with conn.transaction():
        await conn.execute("delete from og.address_labels where chain_id = $1", chain.chain_id)
        if rows:
            await conn.executemany(
                "insert into og.address_labels (chain_id, address, label, source) values ($1, $2, $3, $4)", rows
            )
        await conn.execute(
            """
            insert into og.address_labels (chain_id, address, label, source)
            select distinct p.chain_id, a.address, 'insider', 'payments'
            from og.payments p
            cross join lateral unnest(array[p.payee, p.facilitator, p.tx_from]) as a (address)
            where p.chain_id = $1 and p.is_x402 and a.address is not null
            """,
            chain.chain_id,
        )
        n: int = await conn.fetchval("select count(*) from og.address_labels where chain_id = $1", chain.chain_id)
    return n


async def unchecked_funders(conn: Conn, chain_id: int) -> list[tuple[str, int]]:
    """Traced funders with no label and no code read yet, each with its earliest funding block."""
    recs = await conn.fetch(
        "select funder, min(block_number) as block_number from og.funding_transfers"
        " where chain_id = $1 and funder_class = 'unknown' group by funder order by funder",
        chain_id,
    )
    return [(str(r["funder"]), int(r["block_number"])) for r in recs]


async def read_codes(rpc: RpcClient, pending: Sequence[tuple[str, int]]) -> list[tuple[int, int]]:
    """(block read at, code size) per funder: at its funding block, or, where the node refuses that
    block's state (it keeps no history that old), at the head block, which the row then names."""
    sizes = await rpc.code_sizes(pending)
    refused = [k for k, size in enumerate(sizes) if size is None]
    out = [(n, size or 0) for (_, n), size in zip(pending, sizes, strict=True)]
    if refused:
        head = await rpc.block_number()
        again = await rpc.code_sizes([(pending[k][0], head) for k in refused])
        for k, size in zip(refused, again, strict=True):
            if size is None:
                raise RpcError(f"eth_getCode of {pending[k][0]} refused at the funding block and at the head {head}")
            out[k] = (head, size)
        log.info("funding code_at_head=%d head=%d", len(refused), head)
    return out


async def refresh(conn: Conn, rpc: RpcClient, chain: ChainConfig) -> FundingResult:
    """Write the labels, then read the code of every funder the trace cannot classify yet: one
    eth_getCode per distinct funder, batched (a second call only for those whose funding block the
    node no longer serves). A code is stored only if the transfer it was read for is still indexed
    (a reorg in between leaves that funder for the next run)."""
    started = time.monotonic()
    labels = await write_labels(conn, chain)
    pending = await unchecked_funders(conn, chain.chain_id)
    codes = await read_codes(rpc, pending)
    rows = [
        (chain.chain_id, a, funded_at, read_at, size)
        for (a, funded_at), (read_at, size) in zip(pending, codes, strict=True)
    ]
    if rows:
        async with conn.transaction():
            await lock_chain(conn, chain.chain_id)
            await conn.executemany(
                """
                insert into og.address_code (chain_id, address, block_number, code_size)
                select $1, $2, $4, $5
                where exists (select 1 from og.token_transfers t where t.chain_id = $1
                              and t.from_address = $2 and t.block_number = $3)
                on conflict (chain_id, address) do nothing
                """,
                rows,
            )
    contracts = sum(1 for _, size in codes if size > 0)
    log.info(
        "funding chain=%s labels=%d checked=%d contracts=%d elapsed_ms=%d",
        chain.name, labels, len(rows), contracts, (time.monotonic() - started) * 1000,
    )
    return FundingResult(labels, len(rows), contracts)


def carries_token(chain: ChainConfig) -> bool:
    """Whether the chain has a funding trace to keep: it carries the payment token."""
    return bool(chain.addresses_with_role(Role.TOKEN))


async def refresh_forever(
    pool: asyncpg.Pool, chains: Sequence[ChainConfig], stop: asyncio.Event, interval_s: float = 300.0
) -> None:
    """`run`'s background upkeep of the funding trace: a refresh of every chain that carries the token
    every interval_s until stop, so that new payers' funders are classified while the service
    follows. A failed pass (RPC or database) is logged and tried again at the next; it never stops the
    followers."""
    async with contextlib.AsyncExitStack() as clients:
        rpcs = [(c, await clients.enter_async_context(RpcClient(c.rpc_urls, chain_name=c.name)))
                for c in chains if carries_token(c)]
        while rpcs and not stop.is_set():
            for chain, rpc in rpcs:
                try:
                    async with pool.acquire() as conn:
                        await refresh(conn, rpc, chain)
                except (RpcError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
                    log.warning("funding_failed chain=%s error=%s", chain.name, f"{type(e).__name__}: {e}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
