"""Where each watched contract's history begins (og.contract_starts), found once by indexer.history."""

from __future__ import annotations

import asyncpg

from .base import Conn


async def contract_starts(conn: Conn, chain_id: int) -> list[asyncpg.Record]:
    """Stored history starts of a chain's watched addresses (og.contract_starts)."""
    return list(await conn.fetch("select * from og.contract_starts where chain_id = $1 order by address", chain_id))


async def save_contract_start(
    conn: Conn, chain_id: int, address: str, first_block: int | None, searched_to: int, method: str, note: str,
    calls: int,
) -> None:
    await conn.execute(
        """
        insert into og.contract_starts (chain_id, address, first_block, searched_to, method, note, calls)
        values ($1, $2, $3, $4, $5, $6, $7)
        on conflict (chain_id, address) do update set
            first_block = excluded.first_block, searched_to = excluded.searched_to, method = excluded.method,
            note = excluded.note, calls = excluded.calls, searched_at = now()
        """,
        chain_id, address, first_block, searched_to, method, note, calls,
    )
