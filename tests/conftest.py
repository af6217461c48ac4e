"""Shared fixtures: a fresh Postgres database per test (real server: DATABASE_URL or embedded)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from dbutil import with_db

from indexer import db, store


def _server_dsn() -> str:
    return os.environ.get("DATABASE_URL") or db.embedded_dsn()


@pytest.fixture(scope="session")
def server_dsn() -> str:
    return _server_dsn()


@pytest.fixture
def fresh_dsn(server_dsn: str) -> Iterator[str]:
    """A new, empty database on the real server; dropped afterwards."""
    import asyncio

    name = f"ogtest_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"create database {name}"))
    try:
        yield with_db(server_dsn, name)
    finally:
        asyncio.run(admin(f"drop database if exists {name} with (force)"))


@pytest.fixture
async def pool(fresh_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh, migrated database."""
    p = await db.create_pool(fresh_dsn)
    async with p.acquire() as conn:
        await store.migrate(conn)
    try:
        yield p
    finally:
        await p.close()
