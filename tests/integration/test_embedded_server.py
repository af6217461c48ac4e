"""The embedded PostgreSQL as a second install meets it: a stale server from deleted binaries is
restarted with its data, errors name the database, and a test run leaves nothing behind."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import asyncpg
import pytest
from click.testing import CliRunner

from indexer import db
from indexer.cli import main

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
OG_INDEXER = Path(sys.executable).parent / "og-indexer"


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without DATABASE_URL (so og-indexer uses the embedded server)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(extra)
    return env


async def fetch_keep(dsn: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r["n"] for r in await conn.fetch("select n from keep order by n")]
    finally:
        await conn.close()


async def write_keep(dsn: str, n: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("create table if not exists keep (n int)")
        await conn.execute("insert into keep values ($1)", n)
    finally:
        await conn.close()


def start_from(install: Path, pgdata: Path, root_user: str = "pgserver") -> None:
    """Start the server on pgdata with the PostgreSQL in install (as pgserver does: socket only);
    under root as root_user (pgserver runs its servers as the user pgserver)."""
    user = root_user if os.geteuid() == 0 else None
    subprocess.run(
        [str(install / "bin" / "pg_ctl"), "-D", str(pgdata), "-w", "-o", '-h ""', "-o", f"-k {pgdata}",
         "-l", str(pgdata / "log"), "start"],
        check=True, user=user, capture_output=True, timeout=60,
    )


def must_not_notify(message: str) -> None:
    raise AssertionError(f"unexpected restart: {message}")


def processes_mentioning(fragment: str) -> list[int]:
    """PIDs whose command line mentions fragment (a folder a server was started on)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if fragment in cmdline:
                pids.append(int(proc.name))
    return pids


def test_stale_server_from_deleted_binaries_is_restarted_with_its_data(server_dir: Path) -> None:
    """The issue's scenario: clone 1 starts the embedded server and is deleted; clone 2's command
    finds that server running from binaries that no longer exist, says so in one line, restarts it
    from its own install and works, with the data still there."""
    home = server_dir / "home"
    pgdata = home / "pgdata"
    assert len(str(pgdata / ".s.PGSQL.5432")) < 100, "socket path too long for this test's start_from"
    try:
        asyncio.run(write_keep(db.embedded_dsn(pgdata), 7))
        assert db.stop_embedded(pgdata)
        # Clone 1: its own copy of the binaries starts the server, then the clone is deleted.
        old_install = server_dir / "clone1" / "pginstall"
        shutil.copytree(db.install_bin().parent, old_install, symlinks=True)
        start_from(old_install, pgdata)
        # While clone 1 exists, its server (same major version) is reused as it is, not restarted.
        running = db.running_server(pgdata)
        assert running is not None and running.executable == str(old_install / "bin" / "postgres")
        assert asyncio.run(fetch_keep(db.embedded_dsn(pgdata, notify=must_not_notify))) == [7]
        assert db.running_server(pgdata) == running
        shutil.rmtree(server_dir / "clone1")
        stale = db.running_server(pgdata)
        assert stale is not None and stale.executable.endswith(" (deleted)")

        # Clone 2: an ordinary command on the default (embedded) database.
        done = subprocess.run(
            [str(OG_INDEXER), "migrate"], env=clean_env(OG_INDEXER_HOME=str(home)),
            capture_output=True, text=True, timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert "views rebuilt" in done.stdout
        notes = [line for line in done.stderr.splitlines() if "no longer exists" in line]
        assert len(notes) == 1 and "restarting it from this install (data kept)" in notes[0], done.stderr
        assert not Path(f"/proc/{stale.pid}").exists()
        restarted = db.running_server(pgdata)
        assert restarted is not None and db.stale_reason(restarted) is None

        # The next command reuses the restarted server silently, and the data is still there.
        dsn = db.embedded_dsn(pgdata, notify=must_not_notify)
        assert asyncio.run(fetch_keep(dsn)) == [7]
        assert db.running_server(pgdata) == restarted
    finally:
        db.stop_embedded(pgdata)


def test_embedded_data_is_kept_across_restarts(server_dir: Path) -> None:
    pgdata = server_dir / "pgdata"
    try:
        asyncio.run(write_keep(db.embedded_dsn(pgdata), 1))
        assert db.stop_embedded(pgdata)
        assert db.running_server(pgdata) is None
        dsn = db.embedded_dsn(pgdata)
        asyncio.run(write_keep(dsn, 2))
        assert asyncio.run(fetch_keep(dsn)) == [1, 2]
    finally:
        db.stop_embedded(pgdata)


def older_postgres() -> Path | None:
    """The install folder of a PostgreSQL older than the shipped one (Debian's postgresql-NN)."""
    ours = int(db.install_major())
    found = sorted(
        (int(d.name), d) for d in Path("/usr/lib/postgresql").glob("*") if d.name.isdigit() and int(d.name) < ours
    )
    return found[-1][1] if found else None


def test_running_server_of_an_older_major_version_is_upgraded_with_its_data(server_dir: Path) -> None:
    """Data of an older PostgreSQL, its server running: one line, dump and restore into this
    install's version, the old folder and the dump kept beside it, and the command works."""
    old = older_postgres()
    if old is None:
        pytest.skip("no older PostgreSQL installed (Debian package postgresql-15)")
    home = server_dir / "home"
    pgdata = home / "pgdata"
    pgdata.mkdir(parents=True)
    user = "postgres" if os.geteuid() == 0 else None
    if user:  # PostgreSQL refuses to run as root: the Debian server's own user runs the old one
        server_dir.chmod(0o755)
        shutil.chown(pgdata, user, user)
    subprocess.run([str(old / "bin" / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust",
                    "--encoding=utf8"], check=True, user=user, capture_output=True, timeout=120)
    start_from(old, pgdata, root_user="postgres")

    async def create_og() -> None:
        conn = await asyncpg.connect(f"postgresql://postgres@/postgres?host={pgdata}")
        try:
            await conn.execute("create database og")
        finally:
            await conn.close()

    asyncio.run(create_og())
    asyncio.run(write_keep(f"postgresql://postgres@/og?host={pgdata}", 15))

    done = subprocess.run(
        [str(OG_INDEXER), "migrate"], env=clean_env(OG_INDEXER_HOME=str(home)),
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if line.startswith("og-indexer: ")]
    assert f"runs PostgreSQL {old.name}; this install ships {db.install_major()}" in notes[0], done.stderr
    # A second line only for storage parameters the new version does not know (this machine's
    # PostgreSQL 15 sets one on every column).
    assert len(notes) == 1 or (len(notes) == 2 and "storage parameter(s)" in notes[1]), done.stderr
    assert (pgdata / "PG_VERSION").read_text().strip() == db.install_major()
    kept = sorted(p.name for p in home.iterdir() if p.name != "pgdata")
    assert len(kept) == 2 and kept[0].startswith(f"pgdata-pg{old.name}-") and kept[1] == kept[0] + ".sql"
    assert (home / kept[0] / "PG_VERSION").read_text().strip() == old.name  # the old folder, untouched
    dsn = db.embedded_dsn(pgdata, notify=must_not_notify)
    assert asyncio.run(fetch_keep(dsn)) == [15]


def test_data_of_another_major_version_is_refused_in_one_line_and_left_untouched(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "pgdata").mkdir(parents=True)
    other = str(int(db.install_major()) - 1)
    (home / "pgdata" / "PG_VERSION").write_text(f"{other}\n")
    result = CliRunner().invoke(main, ["migrate"], env={"DATABASE_URL": "", "OG_INDEXER_HOME": str(home)})
    assert result.exit_code == 1
    assert result.output.count("\n") == 1, result.output
    assert f"is PostgreSQL {other} but this install ships {db.install_major()}" in result.output
    assert sorted(p.name for p in (home / "pgdata").iterdir()) == ["PG_VERSION"]


def test_unreachable_database_error_names_it_without_password() -> None:
    url = "postgresql://reader:s3cret@127.0.0.1:1/demand"
    result = CliRunner().invoke(main, ["--database-url", url, "migrate"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: DatabaseError: cannot connect to database postgresql://reader:***@127.0.0.1:1/demand")
    assert "s3cret" not in result.output


async def test_throwaway_server_serves_a_migrated_database(pool: asyncpg.Pool) -> None:
    """Run by the next test with DATABASE_URL unset (the session then starts its own server)."""
    assert await pool.fetchval("select count(*) from pg_namespace where nspname = 'og'") == 1
    assert db.data_home().parent == Path(tempfile.gettempdir())  # the session's folder, not the user's
    if not os.environ.get("DATABASE_URL"):
        assert db.running_server(db.data_home() / "pgdata") is not None


def test_a_run_without_database_url_leaves_no_server_and_no_home_folder(tmp_path: Path) -> None:
    """`make test` on a machine without DATABASE_URL: the session starts its own embedded server in a
    temporary folder, stops it and deletes the folder; the user's home is never written."""
    home = tmp_path / "home"
    home.mkdir()
    scratch = Path(tempfile.mkdtemp(prefix="ogt", dir="/tmp"))  # short: unix socket paths are limited
    env = clean_env(HOME=str(home), TMPDIR=str(scratch))
    env.pop("OG_INDEXER_HOME", None)
    env.pop("XDG_DATA_HOME", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/integration/test_embedded_server.py::test_throwaway_server_serves_a_migrated_database"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        assert "1 passed" in done.stdout
        assert processes_mentioning(str(scratch)) == []
        assert list(scratch.glob("og-indexer-test-*")) == []  # the session's server folder is gone
        assert not (home / ".local").exists()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
