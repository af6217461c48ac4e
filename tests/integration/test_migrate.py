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


async def test_large_columns_use_lz4_where_the_server_has_it(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        try:
            async with conn.transaction():
                await conn.execute("set local default_toast_compression = lz4")
            has_lz4 = True
        except asyncpg.InvalidParameterValueError:  # built without lz4 (pgserver's build, say)
            has_lz4 = False
        methods = await conn.fetch(
            "select attrelid::regclass::text as tbl, attname, attcompression::text from pg_attribute"
            " where attrelid = any($1::regclass[]) and attname = any($2::text[])",
            ["og.raw_logs", "og.transactions", "og.settlements", "og.inferences", "og.tee_events"],
            ["data", "input", "input_data", "output_data", "request", "response", "args"],
        )
    assert len(methods) == 7
    assert {r["attcompression"] for r in methods} == ({"l"} if has_lz4 else {""}), methods  # "": the default (pglz)
