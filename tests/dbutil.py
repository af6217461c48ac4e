"""Scratch databases on the test server: created, migrated, and dropped after use."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg

from indexer import db, store

with_db = db.other_database  # the same server URL, another database


@contextlib.asynccontextmanager
async def scratch_database(server_dsn: str, prefix: str = "ogtest") -> AsyncIterator[str]:
    """A new migrated database on the server of server_dsn; yields its URL, drops it on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f"create database {name}")
    finally:
        await admin.close()
    dsn = with_db(server_dsn, name)
    try:
        conn = await asyncpg.connect(dsn)
        try:
            await store.migrate(conn)
        finally:
            await conn.close()
        yield dsn
    finally:
        admin = await asyncpg.connect(server_dsn)
        try:
            await admin.execute(f"drop database if exists {name} with (force)")
        finally:
            await admin.close()
