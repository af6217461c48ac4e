"""Apply migrations and rebuild the og views, under an advisory lock."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from .base import SQL_DIR, Conn, StoreError

MIGRATION_LOCK = 0x06_1E_DE_C5  # advisory lock key for migrate


_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


_VIEW_DEFINITION = re.compile(r"^\s*create\s+(?:or\s+replace\s+)?view\s+og\.([a-z0-9_]+)", re.I | re.M)


def migration_files(sql_dir: Path = SQL_DIR) -> list[Path]:
    files = sorted((sql_dir / "migrations").glob("*.sql"))
    for f in files:
        if not _MIGRATION_NAME.match(f.name):
            raise StoreError(f"migration file {f.name} is not named NNNN_what.sql")
    return files


def view_files(sql_dir: Path = SQL_DIR) -> list[Path]:
    return sorted((sql_dir / "views").glob("*.sql"))


def view_names(files: Sequence[Path]) -> list[str]:
    """The og views the files define, in file order (each file defines one)."""
    names: list[str] = []
    for f in files:
        found = _VIEW_DEFINITION.findall(f.read_text())
        if len(found) != 1:
            raise StoreError(f"view file {f.name} must define exactly one og view, found {len(found)}")
        names.append(found[0])
    return names


async def _create_views(conn: Conn, files: Sequence[Path]) -> None:
    for f in files:
        try:
            await conn.execute(f.read_text())
        except asyncpg.PostgresError as e:
            raise StoreError(f"view file {f.name}: {e}") from e


async def _rebuild_views(conn: Conn, files: Sequence[Path]) -> None:
    """Create or replace every og view in file order, in the caller's transaction. When Postgres
    refuses a replacement because a view's columns were renamed, removed, reordered or retyped, drop
    every og view the files define and create them all again: dropping them in one statement lets
    Postgres order the drops by their dependencies. Views of the user's own that read og views
    survive an ordinary rebuild; only a column change they would block stops the rebuild, with
    Postgres's message naming them (nothing is dropped with cascade)."""
    try:
        async with conn.transaction():  # a savepoint: the fallback starts from the old views
            await _create_views(conn, files)
        return
    except StoreError as e:
        if not isinstance(e.__cause__, asyncpg.InvalidTableDefinitionError):
            raise
    names = view_names(files)
    try:
        await conn.execute("drop view if exists " + ", ".join(f"og.{n}" for n in names))
    except asyncpg.PostgresError as e:
        detail = getattr(e, "detail", None)
        raise StoreError(f"rebuilding the og views (a view's columns changed): {e}"
                         + (f" ({detail})" if detail else "")) from e
    await _create_views(conn, files)


def views_checksum(files: Sequence[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


async def migrate(conn: Conn, sql_dir: Path = SQL_DIR) -> list[str]:
    """Apply pending migrations (each once, recorded) and rebuild the views when a migration ran or a
    view file changed, under an advisory lock. Idempotent: a second run changes nothing, and every
    command can call it at start-up without taking locks on views that BI queries are reading."""
    applied: list[str] = []
    await conn.execute("select pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            """
            create schema if not exists og;
            create table if not exists og.schema_migrations (
                version    text primary key,
                file       text not null,
                applied_at timestamptz not null default now()
            );
            create table if not exists og.schema_views (
                singleton  boolean primary key default true check (singleton),
                checksum   text not null,
                built_at   timestamptz not null default now()
            )
            """
        )
        done = {r["version"] for r in await conn.fetch("select version from og.schema_migrations")}
        for f in migration_files(sql_dir):
            version = f.name[:4]
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(f.read_text())
                await conn.execute(
                    "insert into og.schema_migrations (version, file) values ($1, $2)", version, f.name
                )
            applied.append(f.name)
        views = view_files(sql_dir)
        checksum = views_checksum(views)
        if applied or checksum != await conn.fetchval("select checksum from og.schema_views"):
            async with conn.transaction():
                await _rebuild_views(conn, views)
                await conn.execute(
                    "insert into og.schema_views (checksum) values ($1) on conflict (singleton)"
                    " do update set checksum = excluded.checksum, built_at = now()",
                    checksum,
                )
    finally:
        await conn.execute("select pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied
