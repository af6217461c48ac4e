"""Postgres: migrations, exactly-once range writes (rows + checkpoint in one transaction), reads."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from .encode import EncodedRows, EncodedTable
from .errors import OgIndexerError
from .resources import data_dir
from .tables import DECODED_TABLES

SQL_DIR = data_dir("sql")
MIGRATION_LOCK = 0x06_1E_DE_C5  # advisory lock key for migrate
_CHAIN_LOCK_BASE = 0x06_1E_00_00  # + chain id: serialises writers of one chain
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_VIEW_DEFINITION = re.compile(r"^\s*create\s+(?:or\s+replace\s+)?view\s+og\.([a-z0-9_]+)", re.I | re.M)


# A connection, pooled or not: every function here works inside the caller's transaction.
Conn = asyncpg.Connection | PoolConnectionProxy


class StoreError(OgIndexerError):
    pass


class HashMismatch(StoreError):
    """A block already stored has another hash than the one just fetched: the chain reorganised."""

    def __init__(self, chain_id: int, block_number: int, stored: str, fetched: str) -> None:
        super().__init__(
            f"chain {chain_id} block {block_number}: stored hash {stored} differs from fetched {fetched}"
        )
        self.chain_id = chain_id
        self.block_number = block_number


class Discontinuity(StoreError):
    """A range does not chain onto a stored neighbouring block by parent hash: the chain reorganised
    since one of the two was fetched. block_number is the stored block now in doubt."""

    def __init__(self, chain_id: int, block_number: int, detail: str) -> None:
        super().__init__(
            f"chain {chain_id}: {detail}: the chain reorganised, nothing was written "
            "(og-indexer run rolls a reorg back, or stops naming the repair)"
        )
        self.chain_id = chain_id
        self.block_number = block_number


@dataclass(frozen=True)
class Range:
    lo: int
    hi: int


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


async def _payload(t: EncodedTable) -> AsyncIterator[bytes]:
    """A table's COPY payload as COPY's source (asyncpg would take plain bytes for a file name)."""
    yield t.payload


async def _stage(conn: Conn, t: EncodedTable) -> int:
    """COPY a table's rows into a session temp table, then insert what is new; returns rows inserted."""
    stage = f"stage_{t.table}"
    await conn.execute(f"create temp table if not exists {stage} (like og.{t.table}) on commit delete rows")
    await conn.copy_to_table(stage, source=_payload(t), columns=list(t.columns), format="binary")
    col_list = ", ".join(t.columns)
    status: str = await conn.execute(
        f"insert into og.{t.table} ({col_list}) select {col_list} from {stage} on conflict do nothing"
    )
    await conn.execute(f"truncate {stage}")
    return int(status.rsplit(" ", 1)[1])


async def _check_block_hashes(conn: Conn, chain_id: int, blocks: Sequence[tuple[int, str]]) -> None:
    if not blocks:
        return
    hashes = dict(blocks)
    for rec in await conn.fetch(
        "select block_number, block_hash from og.blocks"
        " where chain_id = $1 and block_number = any($2::bigint[])",
        chain_id,
        list(hashes),
    ):
        if rec["block_hash"] != hashes[rec["block_number"]]:
            raise HashMismatch(chain_id, rec["block_number"], rec["block_hash"], hashes[rec["block_number"]])


TEES_REFRESH = (SQL_DIR / "queries" / "tees_refresh.sql").read_text()


async def refresh_tees(
    conn: Conn, chain_id: int, touched: Iterable[tuple[str, str]], new_blocks: tuple[int, int] | None = None
) -> None:
    """Recompute og.tees for the given (registry, tee_id) pairs from their events, so that ranges
    indexed in any order converge to the same state. With new_blocks, every event of those blocks
    was just inserted and none existed before: heartbeats are added to the stored count instead of
    recounted (a recount grows with history and made long backfills quadratic)."""
    pairs = sorted(set(touched))
    if pairs:
        lo, hi = new_blocks if new_blocks is not None else (None, None)
        await conn.execute(TEES_REFRESH, chain_id, [p[0] for p in pairs], [p[1] for p in pairs], lo, hi)


async def write_rows(
    conn: Conn,
    chain_id: int,
    rows: EncodedRows,
    *,
    fresh: bool = False,
    block_range: tuple[int, int] | None = None,
) -> dict[str, int]:
    """Insert rows (idempotent on each table's key) inside the caller's transaction.

    fresh: the caller holds the chain lock and no indexed range overlaps the rows' blocks, so none of
    them can exist yet: they are copied straight into their tables. Should one exist after all (a
    unique violation), that attempt is rolled back to a savepoint and the rows go through the
    insert-what-is-new path like any other."""
    await _check_block_hashes(conn, chain_id, rows.block_hashes)
    written: dict[str, int] | None = None
    if fresh:
        try:
            async with conn.transaction():
                written = await _copy_direct(conn, rows)
        except asyncpg.UniqueViolationError:
            written = None
    incremental = block_range if written is not None else None
    if written is None:
        written = {t.table: await _stage(conn, t) for t in rows.tables}
    await refresh_tees(conn, chain_id, rows.tees_touched, incremental)
    return written


async def _copy_direct(conn: Conn, rows: EncodedRows) -> dict[str, int]:
    for t in rows.tables:
        await conn.copy_to_table(
            t.table, schema_name="og", source=_payload(t), columns=list(t.columns), format="binary"
        )
    return {t.table: t.n_rows for t in rows.tables}


async def overlaps_indexed(conn: Conn, chain_id: int, lo: int, hi: int) -> bool:
    """Whether any indexed range of the chain shares a block with [lo, hi]."""
    found: bool = await conn.fetchval(
        "select exists (select 1 from og.indexed_ranges where chain_id = $1 and to_block >= $2"
        " and from_block <= $3)",
        chain_id,
        lo,
        hi,
    )
    return found


async def lock_chain(conn: Conn, chain_id: int) -> None:
    await conn.execute("select pg_advisory_xact_lock($1)", _CHAIN_LOCK_BASE + chain_id)


async def add_range(conn: Conn, chain_id: int, lo: int, hi: int, hi_hash: str) -> None:
    """Record [lo, hi] as indexed and merge it with overlapping or adjacent ranges (caller holds the
    chain lock inside a transaction)."""
    recs = await conn.fetch(
        "select from_block, to_block, to_hash from og.indexed_ranges where chain_id = $1 "
        "and to_block >= $2 - 1 and from_block <= $3 + 1",
        chain_id,
        lo,
        hi,
    )
    new_lo, new_hi, new_hash = lo, hi, hi_hash
    for r in recs:
        new_lo = min(new_lo, r["from_block"])
        if r["to_block"] > new_hi:
            new_hi, new_hash = r["to_block"], r["to_hash"]
    if recs:
        await conn.execute(
            "delete from og.indexed_ranges where chain_id = $1 and from_block = any($2::bigint[])",
            chain_id,
            [r["from_block"] for r in recs],
        )
    await conn.execute(
        "insert into og.indexed_ranges (chain_id, from_block, to_block, to_hash) values ($1, $2, $3, $4)",
        chain_id,
        new_lo,
        new_hi,
        new_hash,
    )


async def check_seams(conn: Conn, chain_id: int, lo: int, hi: int, lo_parent: str, hi_hash: str) -> None:
    """Prove that [lo, hi] chains onto what is stored around it: block lo's parent is the stored
    block lo - 1 (header or checkpoint hash), and a stored block hi + 1 has block hi as its parent.
    Where nothing is stored there is nothing to prove. Raises Discontinuity (caller holds the lock)."""
    below = await hash_at(conn, chain_id, lo - 1)
    if below is not None and below != lo_parent:
        raise Discontinuity(
            chain_id, lo - 1, f"block {lo} has parent {lo_parent}, but the stored block {lo - 1} is {below}"
        )
    above = await conn.fetchval(
        "select parent_hash from og.blocks where chain_id = $1 and block_number = $2", chain_id, hi + 1
    )
    if above is not None and above != hi_hash:
        raise Discontinuity(
            chain_id, hi + 1, f"the stored block {hi + 1} has parent {above}, but block {hi} is {hi_hash}"
        )


async def commit_range(
    conn: Conn,
    chain_id: int,
    lo: int,
    hi: int,
    hi_hash: str,
    rows: EncodedRows,
    *,
    lo_parent: str | None = None,
) -> dict[str, int]:
    """One transaction: the range's rows and its checkpoint, so a crash leaves both or neither.
    With lo_parent (block lo's parent hash), the range must chain onto the stored blocks around it
    (check_seams), else Discontinuity and nothing is written."""
    async with conn.transaction():
        await lock_chain(conn, chain_id)
        if lo_parent is not None:
            await check_seams(conn, chain_id, lo, hi, lo_parent, hi_hash)
        fresh = not await overlaps_indexed(conn, chain_id, lo, hi)
        written = await write_rows(conn, chain_id, rows, fresh=fresh, block_range=(lo, hi))
        await add_range(conn, chain_id, lo, hi, hi_hash)
    return written


async def indexed_ranges(conn: Conn, chain_id: int) -> list[Range]:
    recs = await conn.fetch(
        "select from_block, to_block from og.indexed_ranges where chain_id = $1 order by from_block",
        chain_id,
    )
    return [Range(r["from_block"], r["to_block"]) for r in recs]


def gaps(lo: int, hi: int, done: Sequence[Range]) -> list[Range]:
    """The parts of [lo, hi] not covered by the (sorted, merged) done ranges."""
    out: list[Range] = []
    cursor = lo
    for r in done:
        if r.hi < cursor:
            continue
        if r.lo > hi:
            break
        if r.lo > cursor:
            out.append(Range(cursor, min(hi, r.lo - 1)))
        cursor = max(cursor, r.hi + 1)
        if cursor > hi:
            break
    if cursor <= hi:
        out.append(Range(cursor, hi))
    return out


async def table_counts(conn: Conn, chain_id: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in ("raw_logs", "transactions", *DECODED_TABLES, "tees"):
        out[t] = await conn.fetchval(f"select count(*) from og.{t} where chain_id = $1", chain_id)
    return out


async def undecoded_counts(conn: Conn, chain_id: int) -> dict[str, int]:
    recs = await conn.fetch(
        "select status, count(*) as n from og.raw_logs"
        " where chain_id = $1 and status <> 'decoded' group by status",
        chain_id,
    )
    return {r["status"]: r["n"] for r in recs}


async def delete_decoded(conn: Conn, chain_id: int, lo: int, hi: int) -> None:
    """Remove the rows derived from raw logs in [lo, hi], raw logs included (redecode rebuilds them
    from what it read first)."""
    for t in (*DECODED_TABLES, "raw_logs"):
        await conn.execute(
            f"delete from og.{t} where chain_id = $1 and block_number between $2 and $3", chain_id, lo, hi
        )


async def read_raw(
    conn: Conn, chain_id: int, lo: int, hi: int
) -> tuple[list[asyncpg.Record], list[asyncpg.Record], list[asyncpg.Record]]:
    """Raw logs, block headers and transactions stored for [lo, hi] (what redecode needs)."""
    logs = await conn.fetch(
        "select * from og.raw_logs where chain_id = $1 and block_number between $2 and $3 "
        "order by block_number, log_index",
        chain_id,
        lo,
        hi,
    )
    blocks = await conn.fetch(
        "select * from og.blocks where chain_id = $1 and block_number between $2 and $3", chain_id, lo, hi
    )
    txs = await conn.fetch(
        "select * from og.transactions where chain_id = $1 and block_number between $2 and $3",
        chain_id,
        lo,
        hi,
    )
    return logs, blocks, txs


async def raw_block_bounds(conn: Conn, chain_id: int) -> tuple[int, int] | None:
    rec = await conn.fetchrow(
        "select min(block_number) as lo, max(block_number) as hi from og.raw_logs where chain_id = $1",
        chain_id,
    )
    if rec is None or rec["lo"] is None:
        return None
    return int(rec["lo"]), int(rec["hi"])


async def all_tees(conn: Conn, chain_id: int) -> set[tuple[str, str]]:
    recs = await conn.fetch(
        "select distinct registry, tee_id from og.tee_events where chain_id = $1 and tee_id is not null "
        "union select registry, tee_id from og.tees where chain_id = $1",
        chain_id,
    )
    return {(r["registry"], r["tee_id"]) for r in recs}


# --- live following: tip, stored hashes, rollback -----------------------------------------------

# Rows derived from the Walrus payloads of settlements in the rolled-back blocks (the blobs stay).
WALRUS_DERIVED_TABLES = ("walrus_batch_leaves", "walrus_batches", "walrus_individual")
ROLLBACK_TABLES = ("raw_logs", "transactions", *DECODED_TABLES, *WALRUS_DERIVED_TABLES, "address_code", "blocks")


async def tip(conn: Conn, chain_id: int) -> tuple[int, str] | None:
    """The highest indexed block and its hash (the follower builds on it)."""
    rec = await conn.fetchrow(
        "select to_block, to_hash from og.indexed_ranges where chain_id = $1 order by to_block desc limit 1",
        chain_id,
    )
    return None if rec is None else (int(rec["to_block"]), str(rec["to_hash"]))


async def stored_hashes(conn: Conn, chain_id: int, lo: int, hi: int) -> dict[int, str]:
    recs = await conn.fetch(
        "select block_number, block_hash from og.blocks where chain_id = $1 and block_number between $2 and $3",
        chain_id,
        lo,
        hi,
    )
    return {int(r["block_number"]): str(r["block_hash"]) for r in recs}


async def hashes_below(conn: Conn, chain_id: int, below: int, limit: int) -> dict[int, str]:
    """The `limit` highest stored block headers under block `below` (where to look for the last
    block still canonical after a reorg deeper than the window)."""
    recs = await conn.fetch(
        "select block_number, block_hash from og.blocks where chain_id = $1 and block_number < $2"
        " order by block_number desc limit $3",
        chain_id,
        below,
        limit,
    )
    return {int(r["block_number"]): str(r["block_hash"]) for r in recs}


async def rollback(conn: Conn, chain_id: int, fork: int, ancestor_hash: str) -> dict[str, int]:
    """Delete every row at or above the fork block and cut the checkpoint back to fork - 1, in the
    caller's transaction; TEE state is recomputed from what remains."""
    touched = await conn.fetch(
        "select distinct registry, tee_id from og.tee_events where chain_id = $1 and block_number >= $2 "
        "and tee_id is not null",
        chain_id,
        fork,
    )
    deleted: dict[str, int] = {}
    for t in ROLLBACK_TABLES:
        status: str = await conn.execute(
            f"delete from og.{t} where chain_id = $1 and block_number >= $2", chain_id, fork
        )
        deleted[t] = int(status.rsplit(" ", 1)[1])
    await conn.execute(
        "delete from og.indexed_ranges where chain_id = $1 and from_block >= $2", chain_id, fork
    )
    await conn.execute(
        "update og.indexed_ranges set to_block = $2 - 1, to_hash = $3 where chain_id = $1 and to_block >= $2",
        chain_id,
        fork,
        ancestor_hash,
    )
    await refresh_tees(conn, chain_id, [(r["registry"], r["tee_id"]) for r in touched])
    return deleted


async def prune_blocks(conn: Conn, chain_id: int, below: int) -> int:
    """Forget headers below the unfinalized window that hold no log and end no range."""
    status: str = await conn.execute(
        """
        delete from og.blocks b where b.chain_id = $1 and b.block_number < $2
          and not exists (select 1 from og.raw_logs r
                          where r.chain_id = b.chain_id and r.block_number = b.block_number)
          and not exists (select 1 from og.indexed_ranges i
                          where i.chain_id = b.chain_id and i.to_block = b.block_number)
        """,
        chain_id,
        below,
    )
    return int(status.rsplit(" ", 1)[1])


async def save_chain_state(
    conn: Conn,
    chain_id: int,
    *,
    head: int | None,
    head_time: int | None,
    tip_block: int | None,
    progressed: bool,
    error: str | None,
    stalled: bool,
    reorg: bool = False,
    recovered: bool = False,
    lagging: int = 0,
) -> None:
    """What the follower saw this pass. A new error clears its resolved time; `recovered` (a pass
    that made progress or found the chain caught up, without error) marks the last error resolved;
    `lagging` adds answers whose head was below the stored tip."""
    await conn.execute(
        """
        insert into og.chain_state as s (chain_id, head, head_time, tip, last_progress_at, last_error,
                                         last_error_at, stalled_since, reorgs, lagging_answers, updated_at)
        values ($1, $2, to_timestamp($3), $4, case when $5 then now() end, $6,
                case when $6::text is not null then now() end, case when $7 then now() end,
                case when $8 then 1 else 0 end, $10, now())
        on conflict (chain_id) do update set
            head = coalesce(excluded.head, s.head),
            head_time = coalesce(excluded.head_time, s.head_time),
            tip = coalesce(excluded.tip, s.tip),
            last_progress_at = coalesce(excluded.last_progress_at, s.last_progress_at),
            last_error = coalesce(excluded.last_error, s.last_error),
            last_error_at = coalesce(excluded.last_error_at, s.last_error_at),
            last_error_resolved_at = case
                when excluded.last_error is not null then null
                when $9 and s.last_error is not null then coalesce(s.last_error_resolved_at, now())
                else s.last_error_resolved_at end,
            stalled_since = case when $7 then coalesce(s.stalled_since, now()) end,
            reorgs = s.reorgs + excluded.reorgs,
            lagging_answers = s.lagging_answers + excluded.lagging_answers,
            updated_at = now()
        """,
        chain_id,
        head,
        head_time,
        tip_block,
        progressed,
        error,
        stalled,
        reorg,
        recovered,
        lagging,
    )


async def mark_stopped(conn: Conn, chain_id: int, reason: str) -> None:
    """Record that the chain must not be followed until repaired (kept across restarts)."""
    await conn.execute(
        """
        insert into og.chain_state as s (chain_id, last_error, last_error_at, stopped_reason, stopped_at)
        values ($1, $2, now(), $2, now())
        on conflict (chain_id) do update set
            last_error = $2, last_error_at = now(), last_error_resolved_at = null, stopped_reason = $2,
            stopped_at = case when s.stopped_reason is null then now() else s.stopped_at end,
            updated_at = now()
        """,
        chain_id,
        reason,
    )


async def stopped_reason(conn: Conn, chain_id: int) -> str | None:
    """Why the chain is stopped (mark_stopped), or None when it may be followed."""
    reason: str | None = await conn.fetchval(
        "select stopped_reason from og.chain_state where chain_id = $1", chain_id
    )
    return reason


async def clear_stopped(conn: Conn, chain_id: int) -> None:
    """The repair was made: the chain may be followed again; its stop becomes a resolved error."""
    await conn.execute(
        "update og.chain_state set stopped_reason = null, stopped_at = null,"
        " last_error_resolved_at = now(), updated_at = now() where chain_id = $1 and stopped_reason is not null",
        chain_id,
    )


async def hash_at(conn: Conn, chain_id: int, block_number: int) -> str | None:
    """The stored hash of a block: its header, else the checkpoint that ends there."""
    found: str | None = await conn.fetchval(
        "select coalesce((select block_hash from og.blocks where chain_id = $1 and block_number = $2),"
        " (select to_hash from og.indexed_ranges where chain_id = $1 and to_block = $2))",
        chain_id,
        block_number,
    )
    return found
