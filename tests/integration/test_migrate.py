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


async def test_migrate_rebuilds_a_view_whose_columns_changed_under_its_readers(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    sql = tmp_path / "sql"
    shutil.copytree(store.SQL_DIR, sql)
    # og.payer_stats is read by og.demand_concentration and og.window_summary: a column inserted in
    # the middle (which `create or replace` refuses) must rebuild all three in dependency order.
    view = sorted((sql / "views").glob("*_payer_stats.sql"))[0]
    text = view.read_text()
    assert "    p.payer,\n" in text
    view.write_text(text.replace("    p.payer,\n", "    p.payer,\n    true as inserted_column,\n", 1))
    query = ("select column_name from information_schema.columns where table_schema = 'og'"
             " and table_name = 'payer_stats' order by ordinal_position")
    async with pool.acquire() as conn:
        before = [r["column_name"] for r in await conn.fetch(query)]
        assert await store.migrate(conn, sql) == []
        after = [r["column_name"] for r in await conn.fetch(query)]
        assert after == [before[0], "inserted_column", *before[1:]]
        present = {r["table_name"] for r in await conn.fetch(
            "select table_name from information_schema.views where table_schema = 'og'")}
        assert set(store.view_names(store.view_files(sql))) <= present
        assert await conn.fetchval("select count(*) from og.window_summary") == 3


async def test_users_own_view_survives_a_rebuild_and_is_named_when_a_column_change_needs_its_drop(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    sql = tmp_path / "sql"
    shutil.copytree(store.SQL_DIR, sql)
    view = sorted((sql / "views").glob("*_daily_activity.sql"))[0]
    view.write_text(view.read_text() + "\n-- edited\n")
    async with pool.acquire() as conn:
        await conn.execute("create schema mine; create view mine.busy as select * from og.daily_activity")
        assert await store.migrate(conn, sql) == []  # same columns: replaced in place, mine.busy kept
        assert await conn.fetchval("select count(*) from mine.busy") == 0
        view.write_text("create or replace view og.daily_activity as select 1 as only_column;\n")
        try:
            await store.migrate(conn, sql)
        except store.StoreError as e:
            assert "busy" in str(e), e
        else:
            raise AssertionError("the rebuild dropped or ignored a user's dependent view")
        assert await conn.fetchval("select count(*) from mine.busy") == 0  # the user's view is intact
