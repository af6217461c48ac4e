"""What `og-indexer status` shows: indexed ranges, head and lag, rows per table, undecoded logs."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from . import history, store
from .config import ChainConfig, redact_url
from .rpc import RpcClient, RpcError


async def chain_status(conn: store.Conn, chain: ChainConfig, offline: bool) -> dict[str, Any]:
    ranges = await store.indexed_ranges(conn, chain.chain_id)
    out: dict[str, Any] = {
        "chain": chain.name,
        "chain_id": chain.chain_id,
        "rpc": [redact_url(u) for u in chain.rpc_urls],
        "indexed_ranges": [[r.lo, r.hi] for r in ranges],
        "indexed_to": ranges[-1].hi if ranges else None,
        "rows": await store.table_counts(conn, chain.chain_id),
        "undecoded": await store.undecoded_counts(conn, chain.chain_id),
        "head": None,
        "lag_blocks": None,
        "lag_seconds": None,
        "rpc_error": None,
    }
    latest = await conn.fetchval("select max(block_time) from og.blocks where chain_id = $1", chain.chain_id)
    out["latest_block_time"] = latest.isoformat() if latest else None
    follower = await conn.fetchrow("select * from og.chain_state where chain_id = $1", chain.chain_id)
    out["follower"] = (
        None
        if follower is None
        else {
            "updated_at": follower["updated_at"].isoformat(),
            "last_progress_at": follower["last_progress_at"].isoformat() if follower["last_progress_at"] else None,
            "stalled_since": follower["stalled_since"].isoformat() if follower["stalled_since"] else None,
            "last_error": follower["last_error"],
            "last_error_at": follower["last_error_at"].isoformat() if follower["last_error_at"] else None,
            "reorgs": follower["reorgs"],
            "last_error_resolved_at": _iso(follower["last_error_resolved_at"]),
            "lagging_answers": follower["lagging_answers"],
            "stopped": follower["stopped_reason"],
            "stopped_at": _iso(follower["stopped_at"]),
        }
    )
    out["history"] = await _history(conn, chain)
    if not offline:
        try:
            async with RpcClient(chain.rpc_urls, chain_name=chain.name, retries=1, timeout_s=5) as rpc:
                head = await rpc.block_by_tag("latest")
            out["head"] = head.number
            if ranges:
                out["lag_blocks"] = max(0, head.number - ranges[-1].hi)
                if latest is not None:
                    out["lag_seconds"] = max(0, head.timestamp - int(latest.timestamp()))
        except RpcError as e:
            out["rpc_error"] = str(e)
    return out


def _iso(t: Any) -> str | None:
    return None if t is None else str(t.isoformat())
async def _history(conn: store.Conn, chain: ChainConfig) -> dict[str, Any] | None:
    """Where the chain's history begins and why (og.contract_starts; None: never searched)."""
    h = await history.stored(conn, chain)
    return None if h is None else {"begins_at": h.block, "reason": h.reason}


def render_status(report: list[dict[str, Any]]) -> None:
    console = Console()
    for s in report:
        t = Table(title=f"{s['chain']} (chain id {s['chain_id']})", show_header=False)
        ranges = ", ".join(f"{a}-{b}" for a, b in s["indexed_ranges"]) or "nothing indexed"
        t.add_row("indexed ranges", ranges)
        h = s.get("history")
        t.add_row("history begins", "not searched yet" if h is None else f"block {h['begins_at']}: {h['reason']}")
        t.add_row("head", "unknown: " + s["rpc_error"] if s["rpc_error"] else str(s["head"] or "not asked"))
        t.add_row(
            "lag", f"{s['lag_blocks']} blocks, {s['lag_seconds']} s" if s["lag_blocks"] is not None else "-"
        )
        t.add_row("latest block time", str(s["latest_block_time"] or "-"))
        for table, n in s["rows"].items():
            t.add_row(f"rows: {table}", f"{n:,}")
        f = s["follower"]
        if f is not None:
            t.add_row(
                "follower (og-indexer run)",
                f"last seen {f['updated_at']}, reorgs {f['reorgs']}, lagging node answers {f['lagging_answers']}",
            )
            if f["stopped"]:
                t.add_row("[bold red]STOPPED[/]", f"since {f['stopped_at']}: {f['stopped']}")
            if f["stalled_since"]:
                t.add_row("[bold red]STALLED[/]", f"no progress since {f['last_progress_at']} while the head moved")
            if f["last_error"] and not f["stopped"]:
                resolved = f["last_error_resolved_at"]
                label = f"last error (resolved {resolved})" if resolved else "[bold red]last error[/]"
                t.add_row(label, f"{f['last_error_at']}: {f['last_error']}")
        undecoded = s["undecoded"]
        t.add_row(
            "kept raw (undecoded)",
            ", ".join(f"{k} {v}" for k, v in undecoded.items()) if undecoded else "0",
        )
        console.print(t)
