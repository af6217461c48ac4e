"""Every table declaration (indexer.tables) equals the migrated schema: every og table declared, and
per column its name, Postgres type, nullability and position; the SQLModel read models carry the same
columns and keys, and read real rows."""

from __future__ import annotations

import asyncpg

from indexer import models
from indexer.tables import TABLES, table_columns
from indexer.views import VIEWS

BOOKKEEPING = {"schema_migrations", "schema_views"}  # migrate's own tables, not og-indexer's data


async def _schema(conn: asyncpg.Connection, kind: str = "BASE TABLE") -> dict[str, list[tuple[str, str, bool]]]:
    recs = await conn.fetch(
        "select c.table_name, c.column_name, c.data_type, c.numeric_precision, c.numeric_scale,"
        " c.is_nullable from information_schema.columns c join information_schema.tables t"
        " on t.table_schema = c.table_schema and t.table_name = c.table_name"
        " where c.table_schema = 'og' and t.table_type = $1"
        " order by c.table_name, c.ordinal_position",
        kind,
    )
    out: dict[str, list[tuple[str, str, bool]]] = {}
    for r in recs:
        kind = r["data_type"]
        if kind == "numeric" and r["numeric_precision"] is not None:
            kind = f"numeric({r['numeric_precision']},{r['numeric_scale']})"
        out.setdefault(r["table_name"], []).append((r["column_name"], kind, r["is_nullable"] == "YES"))
    return out


async def _keys(conn: asyncpg.Connection) -> dict[str, tuple[str, ...]]:
    recs = await conn.fetch(
        "select rel.relname, array_agg(a.attname order by k.ord) as cols from pg_constraint con"
        " join pg_class rel on rel.oid = con.conrelid join pg_namespace n on n.oid = rel.relnamespace"
        " cross join unnest(con.conkey) with ordinality k(attnum, ord)"
        " join pg_attribute a on a.attrelid = rel.oid and a.attnum = k.attnum"
        " where n.nspname = 'og' and con.contype = 'p' group by rel.relname"
    )
    return {r["relname"]: tuple(r["cols"]) for r in recs}


async def test_every_declaration_equals_the_migrated_table(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        schema = await _schema(conn)
        keys = await _keys(conn)
    assert {t.TABLE for t in TABLES} == set(schema) - BOOKKEEPING
    for rt in TABLES:
        declared = [(c.name, c.pg.name, c.nullable) for c in table_columns(rt)]
        assert declared == schema[rt.TABLE], rt.TABLE
        assert keys[rt.TABLE] == rt.KEY, rt.TABLE


async def test_every_view_declaration_equals_the_built_view(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        schema = await _schema(conn, "VIEW")
    assert {v.TABLE for v in VIEWS} == set(schema)
    for v in VIEWS:
        # Postgres reports every view column as nullable: names, types and order are compared.
        declared = [(c.name, c.pg.name) for c in table_columns(v)]
        assert declared == [(name, kind) for name, kind, _ in schema[v.TABLE]], v.TABLE
        assert set(v.KEY) <= set(v.columns()) and v.KEY, v.TABLE


async def test_read_models_carry_the_declared_columns_and_read_rows(pool: asyncpg.Pool) -> None:
    for rt in (*TABLES, *VIEWS):
        table = models.MODELS[rt.TABLE].__table__  # type: ignore[attr-defined]
        assert table.schema == "og" and table.name == rt.TABLE
        assert [c.name for c in table.columns] == list(rt.columns())
        assert {c.name for c in table.primary_key.columns} == set(rt.KEY)
        assert [c.nullable for c in table.columns] == [c.nullable for c in table_columns(rt)]
    async with pool.acquire() as conn:
        await conn.execute(
            "insert into og.tees values (10740, '0xreg', '0xtee', null, 0, true, now(), 5, null, 3, null, 'e')"
        )
        rec = await conn.fetchrow("select * from og.tees")
    tee = models.from_record(models.Tee, rec)
    assert tee.registry_address == "0xreg" and tee.heartbeats == 3  # type: ignore[attr-defined]
