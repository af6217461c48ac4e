"""Find the database: DATABASE_URL when given, else an embedded PostgreSQL kept in a per-user folder."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

EMBEDDED_DB = "og"


def data_home() -> Path:
    """Per-user folder for the embedded server (OG_INDEXER_HOME overrides)."""
    if os.environ.get("OG_INDEXER_HOME"):
        return Path(os.environ["OG_INDEXER_HOME"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "og-indexer"


def embedded_dsn(pgdata: Path | None = None) -> str:
    """Start (or reuse) the embedded server and return a DSN for its `og` database. The server keeps
    running after this process exits, so the next command reuses it at once."""
    pgdata = pgdata or data_home() / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
        import pgserver  # imported here: only the embedded path needs it

        server = pgserver.get_server(pgdata, cleanup_mode=None)  # type: ignore[attr-defined]
    exists = server.psql(f"select 1 from pg_database where datname = '{EMBEDDED_DB}';")
    if "1 row" not in exists:
        server.psql(f"create database {EMBEDDED_DB};")
    return f"postgresql://postgres:@/{EMBEDDED_DB}?host={quote(str(pgdata))}"


def psql_command(dsn: str) -> str:
    """How a person connects to this database with psql (password hidden)."""
    from .config import redact_dsn

    return f"psql '{redact_dsn(dsn)}'"


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 8) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, command_timeout=600)
    if pool is None:  # only with a custom init failure; asyncpg types it Optional
        raise RuntimeError("could not create a connection pool")
    return pool


def stop_embedded(pgdata: Path | None = None, timeout_s: float = 15.0) -> bool:
    """Fast-shutdown the embedded server (SIGINT to its postmaster); False if it was not running."""
    import signal
    import time

    pid_file = (pgdata or data_home() / "pgdata") / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
        os.kill(pid, signal.SIGINT)
    except (OSError, ValueError):
        return False
    deadline = time.monotonic() + timeout_s
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not pid_file.exists()


def other_database(dsn: str, name: str) -> str:
    """The same server URL, another database."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@contextlib.contextmanager
def temporary_database(server_dsn: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the server of server_dsn, dropped on exit whatever happens (for
    tests and benchmarks). Not for use inside a running event loop."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"create database {name}"))
    try:
        yield other_database(server_dsn, name)
    finally:
        asyncio.run(admin(f"drop database if exists {name} with (force)"))
