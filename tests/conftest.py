"""Shared fixtures: a fresh Postgres database per test (real server: DATABASE_URL or a throwaway
embedded one), and a test session that never touches the user's own og-indexer folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from indexer import db, store

# Set at import, before any test (or og-indexer command a test starts) reads it: the embedded server
# of this session, and of every command it runs without DATABASE_URL, lives in this temporary folder,
# never in ~/.local/share/og-indexer, and is stopped and deleted when the session ends.
SESSION_HOME = Path(tempfile.mkdtemp(prefix="og-indexer-test-"))
os.environ["OG_INDEXER_HOME"] = str(SESSION_HOME)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the session's embedded server (if one was started) and delete its folder."""
    db.stop_embedded(SESSION_HOME / "pgdata")
    shutil.rmtree(SESSION_HOME, ignore_errors=True)


@pytest.fixture
def server_dir() -> Iterator[Path]:
    """An empty folder for embedded servers a test starts, directly under the temp folder: pytest's
    tmp_path lies under pytest-of-<user>, which every pytest session resets to mode 0700, locking
    out the server's own user (pgserver, when run as root). Servers left in it are stopped."""
    folder = Path(tempfile.mkdtemp(prefix="og-pg-"))
    try:
        yield folder
    finally:
        for pid_file in folder.rglob("postmaster.pid"):
            db.stop_embedded(pid_file.parent)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def server_dsn() -> str:
    return os.environ.get("DATABASE_URL") or db.embedded_dsn(SESSION_HOME / "pgdata")


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
