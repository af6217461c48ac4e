"""Shared fixtures: a fresh Postgres database per test (real server: DATABASE_URL or embedded)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from indexer import db, store


def _server_dsn() -> str:
    return os.environ.get("DATABASE_URL") or db.embedded_dsn()


@pytest.fixture(scope="session")
def server_dsn() -> str:
    return _server_dsn()


@pytest.fixture
def fresh_dsn(server_dsn: str) -> Iterator[str]:
    """A new, empty database on the real server; dropped afterwards."""
    with db.temporary_database(server_dsn, "ogtest") as dsn:
        yield dsn


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
