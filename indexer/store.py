"""Postgres: migrations, exactly-once range writes (rows + checkpoint in one transaction), reads."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from .encode import CopyTypes, EncodedRows, EncodedTable
from .resources import data_dir
from .rows import DECODED_TABLES, ROW_TYPES, BlockRow, Row, Rows

SQL_DIR = data_dir("sql")
MIGRATION_LOCK = 0x06_1E_DE_C5  # advisory lock key for migrate
_CHAIN_LOCK_BASE = 0x06_1E_00_00  # + chain id: serialises writers of one chain
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


# A connection, pooled or not: every function here works inside the caller's transaction.
Conn = asyncpg.Connection | PoolConnectionProxy


class StoreError(Exception):
    pass


class HashMismatch(StoreError):
    """A block already stored has another hash than the one just fetched: the chain reorganised."""

    def __init__(self, chain_id: int, block_number: int, stored: str, fetched: str) -> None:
        super().__init__(
            f"chain {chain_id} block {block_number}: stored hash {stored} differs from fetched {fetched}"
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
                for f in views:
                    try:
                        await conn.execute(f.read_text())
                    except asyncpg.PostgresError as e:
                        raise StoreError(f"view file {f.name}: {e}") from e
                await conn.execute(
                    "insert into og.schema_views (checksum) values ($1) on conflict (singleton)"
                    " do update set checksum = excluded.checksum, built_at = now()",
                    checksum,
                )
    finally:
        await conn.execute("select pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied


async def _stage(conn: Conn, table: str, rows: Sequence[Row]) -> int:
    """COPY rows into a session temp table, then insert what is new; returns rows inserted."""
    cols = type(rows[0]).columns()
    stage = f"stage_{table}"
    await conn.execute(f"create temp table if not exists {stage} (like og.{table}) on commit delete rows")
    await conn.copy_records_to_table(stage, records=[r.record() for r in rows], columns=list(cols))
    col_list = ", ".join(cols)
    status: str = await conn.execute(
        f"insert into og.{table} ({col_list}) select {col_list} from {stage} on conflict do nothing"
    )
    await conn.execute(f"truncate {stage}")
    return int(status.rsplit(" ", 1)[1])


async def copy_types(conn: Conn) -> CopyTypes:
    """Each row table's column types (pg_type names) in its row type's column order, from the
    catalog: what the decode process needs to write COPY's binary format."""
    found: dict[str, dict[str, str]] = {}
    for rec in await conn.fetch(
        "select c.relname, a.attname, t.typname from pg_attribute a join pg_class c on c.oid = a.attrelid"
        " join pg_namespace n on n.oid = c.relnamespace join pg_type t on t.oid = a.atttypid"
        " where n.nspname = 'og' and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped"
    ):
        found.setdefault(rec["relname"], {})[rec["attname"]] = rec["typname"]
    out: dict[str, tuple[str, ...]] = {}
    for rt in ROW_TYPES:
        cols = found.get(rt.TABLE, {})
        missing = [c for c in rt.columns() if c not in cols]
        if missing:
            raise StoreError(f"og.{rt.TABLE} lacks columns {missing}: is the schema migrated?")
        out[rt.TABLE] = tuple(cols[c] for c in rt.columns())
    return out


async def _payload(t: EncodedTable) -> AsyncIterator[bytes]:
    """A table's COPY payload as COPY's source (asyncpg would take plain bytes for a file name)."""
    yield t.payload


async def _stage_encoded(conn: Conn, t: EncodedTable) -> int:
    """_stage for rows already encoded for COPY."""
    stage = f"stage_{t.table}"
    await conn.execute(f"create temp table if not exists {stage} (like og.{t.table}) on commit delete rows")
    await conn.copy_to_table(stage, source=_payload(t), columns=list(t.columns), format=t.format)
    col_list = ", ".join(t.columns)
    status: str = await conn.execute(
        f"insert into og.{t.table} ({col_list}) select {col_list} from {stage} on conflict do nothing"
    )
    await conn.execute(f"truncate {stage}")
    return int(status.rsplit(" ", 1)[1])


def _block_hashes(rows: Sequence[Row]) -> list[tuple[int, str]]:
    return [(r.block_number, r.block_hash) for r in rows if isinstance(r, BlockRow)]


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


TEES_REFRESH = """
with touched as (
    select unnest($2::text[]) as registry, unnest($3::text[]) as tee_id
), ev as (
    -- registrations and toggles: few per TEE. Named, not "<> heartbeat": equality lets the
    -- (tee_id, event) index skip a TEE's heartbeats, which grow with history.
    select e.* from og.tee_events e join touched t using (registry, tee_id)
    where e.chain_id = $1 and e.event in ('TEERegistered', 'TEEEnabled', 'TEEDisabled',
                                          'TEEActivated', 'TEEDeactivated', 'TEERemoved')
), state as (
    select
        registry, tee_id,
        (array_agg(owner order by block_number desc, log_index desc)
            filter (where event = 'TEERegistered'))[1] as owner,
        (array_agg(tee_type order by block_number desc, log_index desc)
            filter (where event = 'TEERegistered'))[1] as tee_type,
        coalesce((array_agg(event in ('TEERegistered', 'TEEEnabled', 'TEEActivated')
            order by block_number desc, log_index desc)
            filter (where event in ('TEERegistered', 'TEEEnabled', 'TEEDisabled',
                                    'TEEActivated', 'TEEDeactivated', 'TEERemoved')))[1], false) as enabled,
        min(block_time) filter (where event = 'TEERegistered') as registered_at,
        min(block_number) filter (where event = 'TEERegistered') as registered_block,
        (array_agg(args->>'paymentAddress' order by block_number desc, log_index desc)
            filter (where event = 'TEERegistered'))[1] as payment_address,
        (array_agg(args->>'endpoint' order by block_number desc, log_index desc)
            filter (where event = 'TEERegistered'))[1] as endpoint
    from ev group by registry, tee_id
), fresh_hb as (
    -- incremental only: the heartbeats of the blocks just inserted, read by block range
    select h.registry, h.tee_id, count(*) as n, max(h.block_time) as last_at
    from og.tee_events h
    where $4::bigint is not null and h.chain_id = $1 and h.block_number between $4 and $5
      and h.event = 'HeartbeatReceived'
    group by h.registry, h.tee_id
), hb as (
    select t.registry, t.tee_id,
        case when $4::bigint is null then
            -- full recount: rollback, redecode, ranges written over indexed blocks
            (select max(h.block_time) from og.tee_events h
             where h.tee_id = t.tee_id and h.event = 'HeartbeatReceived'
               and h.chain_id = $1 and h.registry = t.registry)
        else
            -- incremental: every heartbeat of blocks $4..$5 was just inserted, none existed before,
            -- so the stored state plus these is the whole history (a recount grows with it)
            greatest(x.last_heartbeat_at, f.last_at)
        end as last_heartbeat_at,
        case when $4::bigint is null then
            (select count(*) from og.tee_events h
             where h.tee_id = t.tee_id and h.event = 'HeartbeatReceived'
               and h.chain_id = $1 and h.registry = t.registry)
        else
            coalesce(x.heartbeats, 0) + coalesce(f.n, 0)
        end as heartbeats
    from touched t
    left join og.tees x on x.chain_id = $1 and x.registry = t.registry and x.tee_id = t.tee_id
    left join fresh_hb f on f.registry = t.registry and f.tee_id = t.tee_id
), merged as (
    select t.registry, t.tee_id, s.owner, s.tee_type, coalesce(s.enabled, false) as enabled,
           s.registered_at, s.registered_block, hb.last_heartbeat_at, hb.heartbeats,
           s.payment_address, s.endpoint, (s.tee_id is not null or hb.heartbeats > 0) as exists_
    from touched t join hb using (registry, tee_id) left join state s using (registry, tee_id)
), gone as (
    delete from og.tees d using merged m
    where d.chain_id = $1 and d.registry = m.registry and d.tee_id = m.tee_id and not m.exists_
)
insert into og.tees as t (chain_id, registry, tee_id, owner, tee_type, enabled, registered_at,
                          registered_block, last_heartbeat_at, heartbeats, payment_address, endpoint)
select $1, registry, tee_id, owner, tee_type, enabled, registered_at, registered_block,
       last_heartbeat_at, heartbeats, payment_address, endpoint from merged where exists_
on conflict (chain_id, registry, tee_id) do update set
    owner = excluded.owner, tee_type = excluded.tee_type, enabled = excluded.enabled,
    registered_at = excluded.registered_at, registered_block = excluded.registered_block,
    last_heartbeat_at = excluded.last_heartbeat_at, heartbeats = excluded.heartbeats,
    payment_address = excluded.payment_address, endpoint = excluded.endpoint
"""


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
    rows: Rows | EncodedRows,
    *,
    fresh: bool = False,
    block_range: tuple[int, int] | None = None,
) -> dict[str, int]:
    """Insert rows (idempotent on each table's key) inside the caller's transaction.

    fresh: the caller holds the chain lock and no indexed range overlaps the rows' blocks, so none of
    them can exist yet: they are copied straight into their tables. Should one exist after all (a
    unique violation), that attempt is rolled back to a savepoint and the rows go through the
    insert-what-is-new path like any other."""
    if isinstance(rows, EncodedRows):
        await _check_block_hashes(conn, chain_id, rows.block_hashes)
    else:
        await _check_block_hashes(conn, chain_id, _block_hashes(rows.by_table.get("blocks", [])))
    written: dict[str, int] | None = None
    if fresh:
        try:
            async with conn.transaction():
                written = await _copy_direct(conn, rows)
        except asyncpg.UniqueViolationError:
            written = None
    incremental = block_range if written is not None else None
    if written is None:
        written = {}
        if isinstance(rows, EncodedRows):
            for t in rows.tables:
                written[t.table] = await _stage_encoded(conn, t)
        else:
            for rt in ROW_TYPES:
                batch = rows.by_table.get(rt.TABLE)
                if batch:
                    written[rt.TABLE] = await _stage(conn, rt.TABLE, batch)
    await refresh_tees(conn, chain_id, rows.tees_touched, incremental)
    return written


async def _copy_direct(conn: Conn, rows: Rows | EncodedRows) -> dict[str, int]:
    written: dict[str, int] = {}
    if isinstance(rows, EncodedRows):
        for t in rows.tables:
            await conn.copy_to_table(
                t.table, schema_name="og", source=_payload(t), columns=list(t.columns), format=t.format
            )
            written[t.table] = t.n_rows
        return written
    for rt in ROW_TYPES:
        batch = rows.by_table.get(rt.TABLE)
        if batch:
            await conn.copy_records_to_table(
                rt.TABLE, schema_name="og", records=[r.record() for r in batch], columns=list(rt.columns())
            )
            written[rt.TABLE] = len(batch)
    return written


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


async def commit_range(
    conn: Conn, chain_id: int, lo: int, hi: int, hi_hash: str, rows: Rows | EncodedRows
) -> dict[str, int]:
    """One transaction: the range's rows and its checkpoint, so a crash leaves both or neither."""
    async with conn.transaction():
        await lock_chain(conn, chain_id)
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

ROLLBACK_TABLES = ("raw_logs", "transactions", *DECODED_TABLES, "blocks")


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
) -> None:
    await conn.execute(
        """
        insert into og.chain_state as s (chain_id, head, head_time, tip, last_progress_at, last_error,
                                         last_error_at, stalled_since, reorgs, updated_at)
        values ($1, $2, to_timestamp($3), $4, case when $5 then now() end, $6,
                case when $6::text is not null then now() end, case when $7 then now() end,
                case when $8 then 1 else 0 end, now())
        on conflict (chain_id) do update set
            head = coalesce(excluded.head, s.head),
            head_time = coalesce(excluded.head_time, s.head_time),
            tip = coalesce(excluded.tip, s.tip),
            last_progress_at = coalesce(excluded.last_progress_at, s.last_progress_at),
            last_error = coalesce(excluded.last_error, s.last_error),
            last_error_at = coalesce(excluded.last_error_at, s.last_error_at),
            stalled_since = case when $7 then coalesce(s.stalled_since, now()) end,
            reorgs = s.reorgs + excluded.reorgs,
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
    )


async def contract_starts(conn: Conn, chain_id: int) -> list[asyncpg.Record]:
    """Stored history starts of a chain's watched addresses (og.contract_starts)."""
    return list(await conn.fetch("select * from og.contract_starts where chain_id = $1 order by address", chain_id))


async def save_contract_start(
    conn: Conn, chain_id: int, address: str, first_block: int | None, searched_to: int, method: str, note: str,
    calls: int,
) -> None:
    await conn.execute(
        """
        insert into og.contract_starts (chain_id, address, first_block, searched_to, method, note, calls)
        values ($1, $2, $3, $4, $5, $6, $7)
        on conflict (chain_id, address) do update set
            first_block = excluded.first_block, searched_to = excluded.searched_to, method = excluded.method,
            note = excluded.note, calls = excluded.calls, searched_at = now()
        """,
        chain_id, address, first_block, searched_to, method, note, calls,
    )
