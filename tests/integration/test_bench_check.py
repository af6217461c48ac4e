"""The benchmark's ground-truth check against a migrated database: its SQL runs, and it reports
what differs."""

from __future__ import annotations

import asyncpg

from indexer.config import BASE, OPENGRADIENT
from indexer.tables import PaymentRow
from scripts.bench_load import ChainLoad, Load, check


async def test_the_check_of_an_empty_load_passes_on_empty_tables_and_reports_a_missing_payment(
    pool: asyncpg.Pool,
) -> None:
    load = Load(ChainLoad(BASE), ChainLoad(OPENGRADIENT))
    async with pool.acquire() as conn:
        assert await check(conn, load) == []
        load.base.add(PaymentRow, rows=1, amount_raw=5, unmeasured=1)
        assert sorted(await check(conn, load)) == [
            "payments.amount_raw: tables hold 0, the load has 5",
            "payments.rows: tables hold 0, the load has 1",
            "payments.unmeasured: the load counts it, no check measures it",
        ]
