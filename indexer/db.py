"""Find the database: DATABASE_URL when given, else an embedded PostgreSQL kept in a per-user folder."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import signal
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from .errors import OgIndexerError

EMBEDDED_DB = "og"


def data_home() -> Path:
    """Per-user folder for the embedded server (OG_INDEXER_HOME overrides)."""
    if os.environ.get("OG_INDEXER_HOME"):
        return Path(os.environ["OG_INDEXER_HOME"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "og-indexer"


class DatabaseError(OgIndexerError):
    """The database cannot be reached or the embedded server cannot be (re)started; the message
    names the database by its redacted URL or folder."""


def install_bin() -> Path:
    """The bin folder of the PostgreSQL that this install of og-indexer ships (pgserver's)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
        from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def major_of(postgres: Path) -> str:
    """Major version of a postgres binary ('16' from 'postgres (PostgreSQL) 16.2')."""
    out = subprocess.run([str(postgres), "-V"], capture_output=True, text=True, check=True)
    match = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    if match is None:
        raise DatabaseError(f"cannot read the version of {postgres}: {out.stdout.strip()!r}")
    return match.group(1)


@functools.cache
def install_major() -> str:
    """Major version of the shipped PostgreSQL (asked once per process)."""
    return major_of(install_bin() / "postgres")


@dataclass(frozen=True, slots=True)
class RunningServer:
    """The postmaster found running on a data folder, and the binary it runs from."""

    pid: int
    executable: str  # as /proc shows it: ends in ' (deleted)' when the file is gone


def running_server(pgdata: Path) -> RunningServer | None:
    """The live postmaster of pgdata (from postmaster.pid), or None when no server runs there."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        executable = os.readlink(f"/proc/{pid}/exe")
    except (OSError, ValueError):
        return None
    return RunningServer(pid, executable)


def stale_reason(server: RunningServer) -> str | None:
    """Why a running embedded server must not be reused: its binaries are gone (a deleted clone or
    virtualenv: it can no longer load its libraries) or it is another major version. None when it
    can be used, even if another install of the same version started it (restarting it would cut
    that install's connections for nothing)."""
    executable = Path(server.executable.removesuffix(" (deleted)"))
    if server.executable.endswith(" (deleted)") or not executable.exists():
        return f"runs from {executable}, which no longer exists"
    theirs, ours = major_of(executable), install_major()
    if theirs != ours:
        return f"runs PostgreSQL {theirs} from {executable}, not {ours} from this install"
    return None


def _stop_pid(pid: int, timeout_s: float) -> None:
    """Fast shutdown (SIGINT), then SIGKILL if the postmaster outlives timeout_s."""
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout_s
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if Path(f"/proc/{pid}").exists():
        os.kill(pid, signal.SIGKILL)


def _say(message: str) -> None:
    print(f"og-indexer: {message}", file=sys.stderr)


def embedded_dsn(pgdata: Path | None = None, notify: Callable[[str], None] = _say) -> str:
    """Start (or reuse) the embedded server and return a DSN for its `og` database. The server keeps
    running after this process exits, so the next command reuses it at once. A server found running
    from binaries that are gone is restarted from this install; one of an older major version is
    dumped and restored into a new data folder of this install's version (the old folder is kept
    beside it). notify gets one line saying which; the data stays."""
    pgdata = (pgdata or data_home() / "pgdata").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    version_file = pgdata / "PG_VERSION"
    found = running_server(pgdata)
    if version_file.exists():
        theirs, ours = version_file.read_text().strip(), install_major()
        if theirs != ours:
            if found is None or not theirs.isdigit() or int(theirs) > int(ours):
                raise DatabaseError(
                    f"the embedded data in {pgdata} is PostgreSQL {theirs} but this install ships {ours}"
                    f" and no PostgreSQL {theirs} server runs on it: start one there (og-indexer then"
                    " upgrades it), dump it with that version's pg_dumpall, or set DATABASE_URL"
                )
            return _upgrade(pgdata, found, theirs, ours, notify)
    reason = None if found is None else stale_reason(found)
    if found is not None and reason is not None:
        notify(f"the embedded server in {pgdata} {reason}; restarting it from this install (data kept)")
        _stop_pid(found.pid, timeout_s=30.0)
    return _start(pgdata)


def _start(pgdata: Path) -> str:
    """Start or reuse this install's server on pgdata (initialising an empty folder); its og DSN."""
    return _og_dsn(_server(pgdata))


def _server(pgdata: Path) -> Any:
    """pgserver's handle on this install's server for pgdata, started if it is not running."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
        import pgserver  # imported here: only the embedded path needs it

        # pgserver caches one handle per folder per process; the server may have been stopped or
        # replaced since (stop_embedded, embedded_dsn, another process): read postmaster.pid afresh.
        pgserver.PostgresServer._instances.pop(pgdata, None)  # type: ignore[attr-defined]
        try:
            return pgserver.get_server(pgdata, cleanup_mode=None)  # type: ignore[attr-defined]
        except (subprocess.SubprocessError, OSError) as e:
            raise DatabaseError(f"the embedded server in {pgdata} did not start ({e}); see {pgdata / 'log'}") from e


def _og_dsn(server: Any) -> str:
    """Create the og database when missing; its DSN on the server's unix socket."""
    exists = server.psql(f"select 1 from pg_database where datname = '{EMBEDDED_DB}';")
    if "1 row" not in exists:
        server.psql(f"create database {EMBEDDED_DB};")
    socket_dir = server.get_postmaster_info().socket_dir  # pgdata, or a short one when pgdata's path is long
    return f"postgresql://postgres:@/{EMBEDDED_DB}?host={quote(str(socket_dir))}"


def _upgrade(pgdata: Path, old: RunningServer, theirs: str, ours: str, notify: Callable[[str], None]) -> str:
    """Move the data of a running older-major server into a new cluster of this install: dump every
    database with this install's pg_dumpall (it reads older servers), stop the old server, keep its
    folder as <pgdata>-pg<theirs>-<time> and the dump beside it, initialise pgdata afresh, restore."""
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    port, socket_dir = lines[3].strip(), lines[4].strip()
    stamp = time.strftime("%Y%m%dT%H%M%S")
    backup = pgdata.with_name(f"{pgdata.name}-pg{theirs}-{stamp}")
    dump = pgdata.with_name(f"{pgdata.name}-pg{theirs}-{stamp}.sql")
    notify(
        f"the embedded server in {pgdata} runs PostgreSQL {theirs}; this install ships {ours}: moving the"
        f" data by dump and restore (old folder kept as {backup})"
    )
    bin_dir = install_bin()
    try:
        subprocess.run(
            [str(bin_dir / "pg_dumpall"), "-h", socket_dir or "127.0.0.1", "-p", port, "-U", "postgres",
             "-f", str(dump)],
            check=True, capture_output=True, text=True, timeout=3600,
        )
    except (subprocess.SubprocessError, OSError) as e:
        detail = getattr(e, "stderr", "") or str(e)
        raise DatabaseError(f"could not dump the PostgreSQL {theirs} data in {pgdata}: {detail.strip()}") from e
    _stop_pid(old.pid, timeout_s=60.0)
    pgdata.rename(backup)
    pgdata.mkdir()
    server = _server(pgdata)
    restore = subprocess.run(
        [str(bin_dir / "psql"), str(server.get_uri("postgres")), "-q", "-f", str(dump)],
        capture_output=True, text=True, timeout=3600,
    )
    failed = [line for line in restore.stderr.splitlines() if "ERROR" in line]
    # Storage parameters this version does not know (reloptions/attoptions: tuning, not data) are
    # dropped and said so; the superuser role exists already. Any other error stops the upgrade.
    unknown = [line for line in failed if "unrecognized parameter" in line]
    errors = [line for line in failed if line not in unknown and 'role "postgres" already exists' not in line]
    if unknown:
        notify(f"{len(unknown)} storage parameter(s) unknown to PostgreSQL {ours} were dropped: {unknown[0]}")
    if restore.returncode != 0 or errors:
        raise DatabaseError(
            f"restoring the PostgreSQL {theirs} data into {pgdata} failed ({'; '.join(errors[:3])});"
            f" the old data is kept in {backup} and {dump}"
        )
    return _og_dsn(server)


def psql_command(dsn: str) -> str:
    """How a person connects to this database with psql (password hidden)."""
    from .config import redact_dsn

    return f"psql '{redact_dsn(dsn)}'"


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 8) -> asyncpg.Pool:
    """A pool on dsn; a server that cannot be reached or refuses us raises DatabaseError naming the
    database by its redacted URL."""
    from .config import redact_dsn

    try:
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, command_timeout=600)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
        raise DatabaseError(f"cannot connect to database {redact_dsn(dsn)}: {type(e).__name__}: {e}") from e
    if pool is None:  # only with a custom init failure; asyncpg types it Optional
        raise RuntimeError("could not create a connection pool")
    return pool


def stop_embedded(pgdata: Path | None = None, timeout_s: float = 15.0) -> bool:
    """Fast-shutdown the embedded server (SIGINT to its postmaster); False if it was not running."""
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
