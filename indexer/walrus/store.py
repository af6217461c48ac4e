"""Postgres side of the Walrus tables: what to fetch, blob outcomes, payload-derived rows."""

from __future__ import annotations

import io
from collections.abc import Sequence

from ..encode import encode_table
from ..store import Conn, lock_chain
from ..tables import Row, SettlementPayloadRow
from .rows import FINAL_STATUSES, PAYLOAD_ROW_TYPES, BlobRow, SettlementRef

_KINDS = ("batch", "individual")


async def pending_blobs(conn: Conn, *, retry_missing: bool = False) -> list[str]:
    """Blob ids of current settlements with no final outcome yet (never asked, or failed; missing
    too with retry_missing), oldest settlement first."""
    recs = await conn.fetch(
        """
        select s.walrus_blob_id as blob_id, min(s.block_time) as first_at
        from og.settlements s
        left join og.walrus_blobs b on b.blob_id = s.walrus_blob_id
        where s.kind = any($1::text[]) and s.walrus_blob_id is not null
          and (b.blob_id is null or not (b.status = any($2::text[]) or (b.status = 'missing' and not $3)))
        group by s.walrus_blob_id
        order by first_at, blob_id
        """,
        list(_KINDS),
        list(FINAL_STATUSES),
        retry_missing,
    )
    return [r["blob_id"] for r in recs]


async def _stage_insert(conn: Conn, table: str, rows: Sequence[Row], tail: str) -> int:
    """COPY rows into a session temp table, then `insert into og.<table> select … from <stage>
    <tail>`: tail names the stage's alias, filter and conflict clause. Returns rows inserted."""
    rt = type(rows[0])
    cols = rt.columns()
    stage = f"stage_{table}"
    await conn.execute(f"create temp table if not exists {stage} (like og.{table}) on commit delete rows")
    await conn.copy_to_table(stage, source=io.BytesIO(encode_table(rt, rows)), columns=list(cols), format="binary")
    col_list = ", ".join(cols)
    status: str = await conn.execute(
        f"insert into og.{table} ({col_list}) select {col_list} from {stage} {tail}"
    )
    await conn.execute(f"truncate {stage}")
    return int(status.rsplit(" ", 1)[1])


async def save_blobs(conn: Conn, rows: Sequence[BlobRow]) -> int:
    """Record fetch outcomes (in the caller's transaction); attempts add up over runs."""
    if not rows:
        return 0
    cols = [c for c in BlobRow.columns() if c not in ("blob_id", "attempts")]
    sets = ", ".join(f"{c} = excluded.{c}" for c in cols)
    return await _stage_insert(
        conn, BlobRow.TABLE, rows,
        f"on conflict (blob_id) do update set {sets}, attempts = og.walrus_blobs.attempts + excluded.attempts",
    )


_REFS = """
select s.chain_id, s.block_number, s.block_hash, s.block_time, s.tx_hash, s.log_index, s.kind,
       s.walrus_blob_id, s.batch_size, s.merkle_root, s.tee_id, s.eth_address, s.input_hash,
       s.output_hash, s.tee_timestamp, b.body, b.status = 'truncated' as truncated
from og.settlements s
join og.walrus_blobs b on b.blob_id = s.walrus_blob_id and b.status in ('fetched', 'truncated')
where s.kind = any($1::text[]) and {which}
  and not exists (select 1 from og.walrus_individual w where w.chain_id = s.chain_id
                  and w.block_number = s.block_number and w.log_index = s.log_index)
  and not exists (select 1 from og.walrus_batches w where w.chain_id = s.chain_id
                  and w.block_number = s.block_number and w.log_index = s.log_index)
order by s.chain_id, s.block_number, s.log_index
limit $2
"""
# Two statements, not one with "$2 is null or …": a prepared statement's generic plan could then
# use neither the blob id index nor the key order.
_AFTER = "(s.chain_id, s.block_number, s.log_index) > ($3, $4, $5)"
_REFS_AFTER = _REFS.format(which=_AFTER)
_REFS_OF_BLOBS = _REFS.format(which=f"s.walrus_blob_id = any($6::text[]) and {_AFTER}")


async def unparsed(
    conn: Conn, after: tuple[int, int, int], blob_ids: Sequence[str] | None, limit: int
) -> list[tuple[SettlementRef, bytes, bool]]:
    """Settlements after key `after` whose blob is stored and which have no payload row yet."""
    if blob_ids is None:
        recs = await conn.fetch(_REFS_AFTER, list(_KINDS), limit, *after)
    else:
        recs = await conn.fetch(_REFS_OF_BLOBS, list(_KINDS), limit, *after, list(blob_ids))
    return [
        (
            SettlementRef(
                r["chain_id"], r["block_number"], r["block_hash"], r["block_time"], r["tx_hash"],
                r["log_index"], r["kind"], r["walrus_blob_id"],
                None if r["batch_size"] is None else int(r["batch_size"]), r["merkle_root"], r["tee_id"],
                r["eth_address"], r["input_hash"], r["output_hash"],
                None if r["tee_timestamp"] is None else int(r["tee_timestamp"]),
            ),
            bytes(r["body"]),
            bool(r["truncated"]),
        )
        for r in recs
    ]


async def save_payload_rows(conn: Conn, rows: Sequence[Row]) -> dict[str, int]:
    """Insert derived rows (idempotent) in dependency order, inside the caller's transaction. The
    chains' writer locks are held first, so a rollback runs wholly before (its settlements are gone
    and their rows are skipped) or wholly after (it deletes them) and never leaves orphans."""
    for chain_id in sorted({r.chain_id for r in rows if isinstance(r, SettlementPayloadRow)}):
        await lock_chain(conn, chain_id)
    written: dict[str, int] = {}
    for rt in PAYLOAD_ROW_TYPES:
        batch = [r for r in rows if type(r) is rt]
        if batch:
            parent = "og.walrus_batches" if rt.TABLE == "walrus_batch_leaves" else "og.settlements"
            written[rt.TABLE] = await _stage_insert(
                conn, rt.TABLE, batch,
                f"x where exists (select 1 from {parent} p where p.chain_id = x.chain_id"
                " and p.block_number = x.block_number and p.log_index = x.log_index) on conflict do nothing",
            )
    return written


async def delete_payload_rows(conn: Conn) -> None:
    """Forget every payload-derived row (reparse rebuilds them from the stored blobs)."""
    await conn.execute("delete from og.walrus_batch_leaves")
    await conn.execute("delete from og.walrus_batches")
    await conn.execute("delete from og.walrus_individual")


async def status_counts(conn: Conn) -> dict[str, dict[str, int]]:
    """Rows per status of each Walrus table: what `enrich` and `status` print."""
    out: dict[str, dict[str, int]] = {}
    for table in ("walrus_blobs", "walrus_individual", "walrus_batches"):
        recs = await conn.fetch(f"select status, count(*) as n from og.{table} group by status order by status")
        out[table] = {r["status"]: int(r["n"]) for r in recs}
    return out
