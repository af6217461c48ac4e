"""What the live follower last saw per chain (og.chain_state): progress, errors, stops."""

from __future__ import annotations

from .base import Conn


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
