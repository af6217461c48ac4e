"""Row counts per table and logs kept raw, for `og-indexer status`."""

from __future__ import annotations

from ..tables import DECODED_TABLES
from .base import Conn


async def table_counts(conn: Conn, chain_id: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in ("raw_logs", "transactions", *DECODED_TABLES, "tees"):
        out[t] = await conn.fetchval(f"select count(*) from og.{t} where chain_id = $1", chain_id)
    return out


async def undecoded_counts(conn: Conn, chain_id: int) -> dict[str, int]:
    recs = await conn.fetch(
        "select status, count(*) as n from og.raw_logs"
        " where chain_id = $1 and status <> 'decoded' group by status",
        chain_id,
    )
    return {r["status"]: r["n"] for r in recs}
