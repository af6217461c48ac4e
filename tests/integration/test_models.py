"""The SQLModel classes and the pipeline's row types match the migrated schema column for column."""

from __future__ import annotations

import asyncpg
from sqlmodel import SQLModel

import indexer.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from indexer.rows import ROW_TYPES

PG_TYPES = {
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "SMALLINT": "smallint",
    "SMALLINTEGER": "smallint",
    "BIGINTEGER": "bigint",
    "TEXT": "text",
    "VARCHAR": "text",
    "AUTOSTRING": "text",
    "BOOLEAN": "boolean",
    "NUMERIC": "numeric",
    "DATETIME": "timestamp with time zone",
    "LARGEBINARY": "bytea",
    "JSONB": "jsonb",
}


async def _schema(pool: asyncpg.Pool) -> dict[str, dict[str, tuple[str, bool]]]:
    recs = await pool.fetch(
        "select table_name, column_name, data_type, is_nullable from information_schema.columns "
        "where table_schema = 'og'"
        " and table_name in (select tablename from pg_tables where schemaname = 'og')"
    )
    out: dict[str, dict[str, tuple[str, bool]]] = {}
    for r in recs:
        out.setdefault(r["table_name"], {})[r["column_name"]] = (r["data_type"], r["is_nullable"] == "YES")
    return out


async def test_sqlmodel_classes_match_migrated_schema(pool: asyncpg.Pool) -> None:
    schema = await _schema(pool)
    tables = {t.name: t for t in SQLModel.metadata.tables.values() if t.schema == "og"}
    assert set(tables) >= {"payments", "settlements", "inferences", "tees", "raw_logs", "blocks"}
    for name, table in tables.items():
        db_cols = schema[name]
        model_cols = {c.name: c for c in table.columns}
        assert set(model_cols) == set(db_cols), name
        for cname, col in model_cols.items():
            db_type, db_nullable = db_cols[cname]
            type_name = type(col.type).__name__.upper()
            assert PG_TYPES.get(type_name) == db_type, f"{name}.{cname}: {type_name} vs {db_type}"
            assert bool(col.nullable) == db_nullable, f"{name}.{cname} nullability"


async def test_pipeline_row_types_name_real_columns(pool: asyncpg.Pool) -> None:
    schema = await _schema(pool)
    for rt in ROW_TYPES:
        cols = schema[rt.TABLE]
        assert set(rt.columns()) <= set(cols), rt.TABLE
        # every NOT NULL column without a default is filled by the pipeline
        required = {c for c, (_, nullable) in cols.items() if not nullable}
        assert required <= set(rt.columns()), (rt.TABLE, required - set(rt.columns()))
