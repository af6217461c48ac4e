"""migrate: each migration once, views rebuilt only when a migration ran or a view file changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg

from indexer import store


async def test_migrate_is_idempotent_and_rebuilds_views_only_on_change(pool: asyncpg.Pool, tmp_path: Path) -> None:
    sql = tmp_path / "sql"
    shutil.copytree(store.SQL_DIR, sql)
    async with pool.acquire() as conn:
        built = await conn.fetchval("select built_at from og.schema_views")
        assert await store.migrate(conn, sql) == []
        assert await conn.fetchval("select built_at from og.schema_views") == built  # nothing rebuilt
        view = sorted((sql / "views").glob("*daily_activity.sql"))[0]
        view.write_text(view.read_text() + "\n-- edited\n")
        assert await store.migrate(conn, sql) == []
        assert await conn.fetchval("select built_at from og.schema_views") > built
        n = await conn.fetchval("select count(*) from og.schema_migrations")
        assert n == len(store.migration_files(sql))
        assert await conn.fetchval("select count(*) from og.daily_activity") == 0
