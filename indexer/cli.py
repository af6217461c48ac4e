"""The og-indexer command line: one click group; every failure a user can act on is one line."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import click

from . import db, decodepool, funding, history, store, sync
from .config import ChainConfig, Config, load_config, redact_dsn, redact_url
from .errors import OgIndexerError
from .rpc import RpcClient

T = TypeVar("T")

# What a user can cause and act on: og-indexer's own errors, a database's refusal, and an operating
# system error (a refused connection, a missing file). Anything else is a bug: it keeps its traceback.
KNOWN_ERRORS: tuple[type[BaseException], ...] = (
    OgIndexerError,
    asyncpg.PostgresError,
    OSError,
)


class Group(click.Group):
    """Turns the errors a user can cause (bad config, unreachable RPC, database refusal) into one
    line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KNOWN_ERRORS as e:
            raise click.ClickException(f"{type(e).__name__}: {e}".replace("\n", " ")) from None
        except KeyboardInterrupt:
            raise click.ClickException("interrupted") from None

    # Imported when used: the devnet pulls in eth-abi's encoder, and every process that imports
    # this module (the decode process re-imports the CLI as its __main__) would carry it (measured:
    # 17 MB and 0.3 s).
    LAZY: dict[str, tuple[str, str]] = {"devnet": ("indexer.devnet.cli", "devnet")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY and cmd_name not in self.commands:
            module, attr = self.LAZY[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)


@dataclass
class State:
    config_path: Path | None
    database_url: str | None
    devnet: bool
    _config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            env = dict(os.environ)
            if self.devnet:  # everything devnet-specific lives in indexer.devnet (imported on use)
                from .devnet.profile import devnet_env

                devnet_env(env)
            if self.database_url:
                env["DATABASE_URL"] = self.database_url
            cfg = load_config(self.config_path, env)
            if self.devnet:
                from .devnet.profile import devnet_profile

                cfg = devnet_profile(cfg)
            self._config = cfg
        return self._config

    def dsn(self) -> str:
        return self.config.database_url or db.embedded_dsn()


pass_state = click.make_pass_decorator(State)


def run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    finally:
        # The decode process ends with the command, not in the interpreter's exit hooks, where its
        # queues' semaphores could outlive their finalizers (a resource_tracker "leaked" warning).
        decodepool.close()


async def with_pool(state: State, fn: Callable[[asyncpg.Pool], Awaitable[T]], *, prepared: bool = True) -> T:
    """Run fn with a pool on the configured database, prepared first (migrated, views built, catalog
    seeded: `prepare`) unless the command prepares it itself (migrate, reset)."""
    pool = await db.create_pool(state.dsn())
    try:
        if prepared:
            async with pool.acquire() as conn:
                await prepare(conn)
        return await fn(pool)
    finally:
        await pool.close()


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="OG_INDEXER_CONFIG",
    show_envvar=True,
    help="TOML file overriding the built-in network profile.",
)
@click.option(
    "--database-url",
    envvar="DATABASE_URL",
    show_envvar=True,
    help="Postgres URL; without it an embedded server is started in ~/.local/share/og-indexer.",
)
@click.option(
    "--devnet",
    is_flag=True,
    envvar="OG_INDEXER_DEVNET",
    show_envvar=True,
    help="Use the running local devnet (og-indexer devnet up) unless OG_RPC_URL/BASE_RPC_URL are set.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="warning",
    envvar="OG_INDEXER_LOG_LEVEL",
    show_envvar=True,
    help="Structured logs go to stderr at this level.",
)
@click.version_option(package_name="og-indexer")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, database_url: str | None, devnet: bool, log_level: str) -> None:
    """og-indexer: the truth about demand on OpenGradient, from the chain itself.

    Indexes OpenGradient (chain 10740) and Base (8453) into Postgres schema `og`.
    """
    logging.basicConfig(
        level=getattr(logging, log_level.upper()),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    ctx.obj = State(config_path, database_url, devnet)


# Chains are named by the configuration (built in: opengradient, base; a TOML file may add more), so
# the names are checked against it when the command runs (an unknown one is a one-line error).
CHAIN = click.option(
    "--chain",
    required=True,
    metavar="NAME",
    help="Which chain of the configuration (built in: opengradient (10740), base (8453)).",
)


async def prepare(conn: store.Conn) -> list[str]:
    """Migrate, rebuild views, and seed the model catalog with the SDK's list (idempotent)."""
    from .catalog import seed

    applied = await store.migrate(conn)
    await seed(conn)
    return applied


@main.command()
@pass_state
def migrate(state: State) -> None:
    """Apply pending schema migrations, (re)create the views, seed the model catalog."""

    async def go(pool: asyncpg.Pool) -> list[str]:
        async with pool.acquire() as conn:
            return await prepare(conn)

    applied = run(with_pool(state, go, prepared=False))
    click.echo(f"applied {len(applied)} migration(s){': ' + ', '.join(applied) if applied else ''}; views rebuilt")


@main.command()
@click.option("--yes", is_flag=True, help="Confirm: every og table and view in this database is dropped.")
@pass_state
def reset(state: State, yes: bool) -> None:
    """Drop schema og (all indexed data) in the configured database, then migrate afresh."""
    if not yes:
        raise click.UsageError("reset drops every indexed row; pass --yes to confirm")

    async def go(pool: asyncpg.Pool) -> None:
        async with pool.acquire() as conn:
            await conn.execute("drop schema if exists og cascade")
            await prepare(conn)

    run(with_pool(state, go, prepared=False))
    click.echo(f"schema og dropped and recreated in {redact_dsn(state.dsn())}")


@main.group()
def catalog() -> None:
    """The listed-model catalog (og.models)."""


@catalog.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json", "jsonl"]), help="File format (default: from the extension)."
)
@pass_state
def catalog_import(state: State, file: Path, fmt: str | None) -> None:
    """Add or update listed models from FILE (CSV or JSON: model, kind, listed_at, source)."""
    from .catalog import import_file

    async def go(pool: asyncpg.Pool) -> object:
        async with pool.acquire() as conn:
            return await import_file(conn, file, fmt)

    click.echo(f"{file}: {run(with_pool(state, go))}")


@main.command("grant-readonly")
@click.argument("role")
@click.option("--login", is_flag=True, help="Let the role log in (otherwise NOLOGIN: grant it to users).")
@click.option("--password", envvar="OG_READONLY_PASSWORD", help="Password for a --login role (env recommended).")
@pass_state
def grant_readonly_cmd(state: State, role: str, login: bool, password: str | None) -> None:
    """Create ROLE (if missing) able to read schema og and nothing else, for BI tools."""
    from .catalog import grant_readonly

    async def go(pool: asyncpg.Pool) -> bool:
        async with pool.acquire() as conn:
            return await grant_readonly(conn, role, login=login, password=password)

    created = run(with_pool(state, go))
    click.echo(f"role {role} {'created' if created else 'updated'}: read-only on schema og")


def _block_arg(value: str, name: str) -> int | str:
    if value in ("latest", "safe", "finalized"):
        return value
    try:
        n = int(value, 0)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a block number or latest/safe/finalized", param_hint=name) from None
    if n < 0:
        raise click.BadParameter("must be >= 0", param_hint=name)
    return n


@main.command()
@CHAIN
@click.option("--from", "from_", default="0", help="First block (number, or latest/safe/finalized).")
@click.option("--to", "to", default="latest", help="Last block (number, or latest/safe/finalized).")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, help="Ranges fetched at once.")
@click.option("--force", is_flag=True, help="Fetch ranges again even if already indexed (rows stay unique).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@pass_state
def backfill(
    state: State, chain: str, from_: str, to: str, concurrency: int, force: bool, progress: bool | None
) -> None:
    """Index a block range of one chain, exactly once: rows and checkpoint commit together, ranges
    already indexed are skipped, and a killed run resumes where it stopped."""
    lo_arg, hi_arg = _block_arg(from_, "--from"), _block_arg(to, "--to")
    if isinstance(lo_arg, int) and isinstance(hi_arg, int) and lo_arg > hi_arg:
        raise click.BadParameter(f"{lo_arg} is above --to {hi_arg}", param_hint="--from")
    cfg = state.config.chain(chain)

    async def go(pool: asyncpg.Pool) -> sync.BackfillResult:
        async with RpcClient(cfg.rpc_urls, chain_name=cfg.name) as rpc:
            await rpc.check_chain_id(cfg.chain_id)
            lo = lo_arg if isinstance(lo_arg, int) else (await rpc.block_by_tag(lo_arg)).number
            hi = hi_arg if isinstance(hi_arg, int) else (await rpc.block_by_tag(hi_arg)).number
            async with pool.acquire() as conn:
                chain, start = await history.begin(rpc, conn, cfg)
            if lo < chain.start_block:  # nothing watched has code below it: no log to find there
                click.echo(f"{cfg.name}: history begins at block {start.block}, {start.reason}; starting there")
                lo = chain.start_block
                if lo > hi:
                    return sync.BackfillResult(cfg.name, lo, hi)
            show = sys.stderr.isatty() if progress is None else progress
            if not show:
                result = await sync.backfill(rpc, pool, chain, lo, hi, concurrency=concurrency, force=force)
            else:
                from .progress import BackfillProgress

                with BackfillProgress(cfg.name, hi - lo + 1) as bar:
                    result = await sync.backfill(
                        rpc, pool, chain, lo, hi, concurrency=concurrency, force=force, progress=bar.advance
                    )
            await _refresh_funding(pool, rpc, cfg)
            return result

    r = run(with_pool(state, go))
    rate = r.logs / r.elapsed_s if r.elapsed_s > 0 else 0.0
    click.echo(
        f"{r.chain}: blocks {r.lo}-{r.hi} indexed ({r.blocks} fetched, {r.skipped_blocks} already indexed), "
        f"{r.logs} logs, {sum(r.written.values())} new rows, {r.undecoded} undecoded kept raw, "
        f"{r.undecoded_calls} calldata undecoded (columns left NULL), "
        f"{r.elapsed_s:.1f}s ({rate:.0f} logs/s)"
    )


@main.command()
@CHAIN
@pass_state
def redecode(state: State, chain: str) -> None:
    """Rebuild the decoded tables of a chain from og.raw_logs with the current ABIs (no RPC)."""
    cfg = state.config.chain(chain)

    async def go(pool: asyncpg.Pool) -> dict[str, int]:
        return dict(await sync.redecode(pool, cfg))

    counts = run(with_pool(state, go))
    parts = ", ".join(f"{t} {n}" for t, n in sorted(counts.items()) if t not in ("blocks", "transactions"))
    click.echo(f"{chain}: rebuilt from raw logs: {parts or 'nothing to rebuild'}")


@main.command()
@click.option("--chain", metavar="NAME", help="Only this chain of the configuration.")
@click.option("--offline", is_flag=True, help="Do not ask the RPC for the head (no lag shown).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def status(state: State, chain: str | None, offline: bool, as_json: bool) -> None:
    """Per chain: indexed ranges, head, lag, rows per table, logs kept raw (undecoded)."""
    from .status import chain_status, render_status

    names = [state.config.chain(chain).name] if chain else list(state.config.chains)

    async def go(pool: asyncpg.Pool) -> tuple[list[dict[str, Any]], dict[str, dict[str, int]]]:
        from .walrus.store import status_counts

        async with pool.acquire() as conn:
            return [await chain_status(conn, state.config.chain(n), offline) for n in names], await status_counts(conn)

    report, walrus = run(with_pool(state, go))
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        render_status(report)
        _echo_walrus_counts(walrus)


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "html"]),
    default="table",
    help="Output format; html is one self-contained page with charts (needs --output).",
)
@click.option(
    "--window",
    type=click.Choice(["7d", "30d", "all"]),
    default="30d",
    help="Rolling window, anchored at the latest indexed block time (not the wall clock).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the report to this file instead of stdout.",
)
@pass_state
def report(state: State, fmt: str, window: str, output: Path | None) -> None:
    """The demand summary: models used vs listed, who pays, who comes back, how much is verified,
    how concentrated demand is, TEE fleet liveness."""
    from .report import build_report, render

    if fmt == "html" and output is None:
        raise click.UsageError("--format html writes a page: give it a file with --output FILE")

    async def go(pool: asyncpg.Pool) -> str:
        async with pool.acquire() as conn:
            if fmt == "html":
                return await html_report(conn, window, state.dsn())
            return render(await build_report(conn, window), fmt)

    text = run(with_pool(state, go))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"report written to {output.resolve()} ({len(text.encode()) // 1024} KiB)")


async def html_report(conn: store.Conn, window: str, dsn: str) -> str:
    """The HTML page of the report (charts rendered offline), stamped with the database and time."""
    from datetime import UTC, datetime

    from .report_html import build_html_report, describe_database

    return await build_html_report(conn, window, describe_database(dsn), datetime.now(UTC))


@main.command("db-info")
@pass_state
def db_info(state: State) -> None:
    """Print the database in use and how to connect to it with psql."""
    dsn = state.dsn()
    source = "DATABASE_URL" if state.config.database_url else f"embedded server in {db.data_home()}"
    click.echo(f"database: {redact_dsn(dsn)} ({source})")
    click.echo(f"connect:  {db.psql_command(dsn)}")


@main.command("config")
@pass_state
def show_config(state: State) -> None:
    """Print the effective configuration (secrets redacted)."""
    cfg = state.config
    for c in cfg.chains.values():
        click.echo(f"[{c.name}] chain_id={c.chain_id} rpc={', '.join(redact_url(u) for u in c.rpc_urls)}")
        click.echo(f"  max_block_range={c.max_block_range} finality_depth={c.finality_depth}")
        if c.pay_to:
            click.echo(f"  pay_to={', '.join(c.pay_to)}")
        for k in c.contracts:
            watch = (" (not watched)" if not k.watch
                     else " (logs in our transactions only)" if k.in_read_transactions else "")
            click.echo(f"  {k.name} [{k.role}]{watch}: {', '.join(k.addresses)}")
    click.echo(f"database: {redact_dsn(cfg.database_url) if cfg.database_url else 'embedded'}")


@main.command("run")
@click.option(
    "--chain",
    "chains",
    metavar="NAME",
    multiple=True,
    help="Chains to follow (repeatable); default: all configured.",
)
@click.option(
    "--tag",
    type=click.Choice(["latest", "safe", "finalized"]),
    default="latest",
    envvar="OG_INDEXER_FOLLOW_TAG",
    show_envvar=True,
    help="Follow this block tag instead of the raw head.",
)
@click.option("--poll-interval", type=click.FloatRange(0.05), default=1.0, help="Seconds between polls while busy.")
@click.option(
    "--max-poll-interval", type=click.FloatRange(0.05), default=15.0, help="Idle back-off ceiling in seconds."
)
@click.option("--stall-after", type=click.FloatRange(1), default=120.0, help="Seconds without progress before alarm.")
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    envvar="OG_INDEXER_METRICS_PORT",
    show_envvar=True,
    help="Serve Prometheus metrics on 127.0.0.1:PORT/metrics.",
)
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, help="Catch-up ranges fetched at once.")
@click.option(
    "--enrich-interval",
    type=click.FloatRange(0),
    default=60.0,
    envvar="OG_INDEXER_ENRICH_INTERVAL",
    show_envvar=True,
    help="Seconds between background Walrus enrichment passes (0: none).",
)
@click.option(
    "--funding-interval",
    type=click.FloatRange(0),
    default=300.0,
    envvar="OG_INDEXER_FUNDING_INTERVAL",
    show_envvar=True,
    help="Seconds between background refreshes of the funding trace: labels and funders' eth_getCode (0: none).",
)
@pass_state
def run_cmd(
    state: State,
    chains: tuple[str, ...],
    tag: str,
    poll_interval: float,
    max_poll_interval: float,
    stall_after: float,
    metrics_port: int | None,
    concurrency: int,
    enrich_interval: float,
    funding_interval: float,
) -> None:
    """Follow the chains live: catch up from the checkpoint, then follow the head through reorgs,
    restarts and RPC failures until SIGINT/SIGTERM."""
    from .follow import FollowOptions
    from .service import run_service

    cfgs = [state.config.chain(n) for n in (chains or tuple(state.config.chains))]
    opts = FollowOptions(
        tag=tag,
        poll_min_s=poll_interval,
        poll_max_s=max(poll_interval, max_poll_interval),
        stall_after_s=stall_after,
        catchup_concurrency=concurrency,
    )

    async def go(pool: asyncpg.Pool) -> None:
        async with pool.acquire() as conn:
            started = []
            for c in cfgs:  # each chain starts where its history begins (og.contract_starts)
                async with RpcClient(c.rpc_urls, chain_name=c.name) as rpc:
                    started.append((await history.begin(rpc, conn, c))[0])
        stop = asyncio.Event()
        background = []
        if enrich_interval:
            background.append(_start_enrichment(pool, state.config, stop, enrich_interval))
        if funding_interval:
            background.append(_background(funding.refresh_forever(pool, started, stop, funding_interval), stop))
        try:
            await run_service(pool, started, opts, metrics_port=metrics_port, stop=stop)
        finally:
            stop.set()
            for task in background:
                await task

    run(with_pool(state, go))
    click.echo("stopped cleanly")


@main.command("rollback")
@CHAIN
@click.option(
    "--from-block",
    type=click.IntRange(0),
    required=True,
    help="First block to delete: every row of the chain at or above it goes (the stop message names it).",
)
@click.option("--yes", is_flag=True, help="Confirm the deletion.")
@pass_state
def rollback_cmd(state: State, chain: str, from_block: int, yes: bool) -> None:
    """Repair a chain stopped by a reorg deeper than its window: delete its rows at or above a block
    in one transaction, cut its checkpoint back, and let `run` follow it again from there. The block
    below must be stored with its canonical hash (or not stored at all)."""
    if not yes:
        raise click.UsageError(f"this deletes every {chain} row at or above block {from_block}; add --yes")
    cfg = state.config.chain(chain)

    async def go(pool: asyncpg.Pool) -> dict[str, int]:
        async with RpcClient(cfg.rpc_urls, chain_name=cfg.name) as rpc:
            await rpc.check_chain_id(cfg.chain_id)
            below = from_block - 1
            canonical = (await rpc.blocks([below]))[below].hash if below >= 0 else ""
        async with pool.acquire() as conn, conn.transaction():
            await store.lock_chain(conn, cfg.chain_id)
            stored = await store.hash_at(conn, cfg.chain_id, below) if below >= 0 else None
            if stored is not None and stored != canonical:
                raise store.StoreError(
                    f"{chain} block {below} is stored as {stored} but the node's is {canonical}: "
                    "the fork is lower, roll back from a lower block"
                )
            deleted = await store.rollback(conn, cfg.chain_id, from_block, canonical)
            await store.clear_stopped(conn, cfg.chain_id)
        return deleted

    deleted = run(with_pool(state, go))
    n = sum(deleted.values())
    click.echo(f"{chain}: {n} rows at or above block {from_block} deleted; `run` indexes from there again")
def _start_enrichment(pool: asyncpg.Pool, cfg: Config, stop: asyncio.Event, interval: float) -> asyncio.Task[None]:
    """`run`'s background Walrus enrichment (a task beside the followers, stopped by the same event)."""
    from .walrus.client import FetchOptions
    from .walrus.enrich import enrich_forever

    return _background(enrich_forever(pool, cfg.walrus_urls, FetchOptions(), stop, interval), stop)


def _background(job: Coroutine[Any, Any, None], stop: asyncio.Event) -> asyncio.Task[None]:
    """A task beside the followers, stopped by the same event. A failure the job does not expect is a
    bug: it stops the service so that it surfaces."""
    task = asyncio.create_task(job)
    task.add_done_callback(lambda t: None if t.cancelled() or t.exception() is None else stop.set())
    return task


@main.command()
@click.option(
    "--aggregator",
    "aggregators",
    multiple=True,
    help="Walrus aggregator base URL (repeatable; tried in order). Default: config [walrus] aggregator_urls, "
    "env OG_WALRUS_URL, else https://aggregator.suicore.com.",
)
@click.option("--concurrency", type=click.IntRange(1, 256), default=16, help="Blob requests in flight at most.")
@click.option("--max-bytes", type=click.IntRange(1), default=10 * 2**20, help="Longer bodies are cut and marked.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.1), default=30.0, help="Seconds per request.")
@click.option("--retry-missing", is_flag=True, help="Ask again for blobs recorded as missing (404).")
@click.option("--reparse", is_flag=True, help="Rebuild every payload-derived row from the stored blobs; no request.")
@pass_state
def enrich(
    state: State,
    aggregators: tuple[str, ...],
    concurrency: int,
    max_bytes: int,
    timeout_s: float,
    retry_missing: bool,
    reparse: bool,
) -> None:
    """Fetch the Walrus payload of every settlement that has a blob id and none stored, keep it, and
    derive per-model usage (individual payloads) and Merkle proof checks (batch payloads)."""
    from .config import split_walrus_urls
    from .walrus import store as walrus_store
    from .walrus.client import FetchOptions
    from .walrus.enrich import enrich as run_enrich

    if reparse and retry_missing:
        raise click.UsageError("--reparse makes no request: it cannot be combined with --retry-missing")
    urls = split_walrus_urls(",".join(aggregators)) if aggregators else state.config.walrus_urls
    opts = FetchOptions(concurrency=concurrency, max_bytes=max_bytes, timeout_s=timeout_s)

    async def go(pool: asyncpg.Pool) -> dict[str, dict[str, int]]:
        result = await run_enrich(pool, urls, opts, retry_missing=retry_missing, reparse=reparse)
        where = "stored blobs (no request)" if reparse else ", ".join(redact_url(u) for u in urls)
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(result.outcomes.items())) or "none"
        click.echo(f"enrich: {result.requested} blob(s) requested from {where} in {result.elapsed_s:.1f}s; "
                   f"outcomes: {outcomes}")
        async with pool.acquire() as conn:
            return await walrus_store.status_counts(conn)

    _echo_walrus_counts(run(with_pool(state, go)))


def _echo_walrus_counts(counts: dict[str, dict[str, int]]) -> None:
    """Rows per status of the Walrus tables (malformed payloads are counted here, with their error
    in the rows)."""
    click.echo("walrus payloads:")
    for table, by_status in counts.items():
        click.echo(f"  {table:<18} " + (", ".join(f"{k} {v}" for k, v in by_status.items()) or "none"))
async def _refresh_funding(pool: asyncpg.Pool, rpc: RpcClient, cfg: ChainConfig) -> funding.FundingResult | None:
    """The funding trace's labels and eth_getCode cache, on a chain that carries the token."""
    if not funding.carries_token(cfg):
        return None
    async with pool.acquire() as conn:
        return await funding.refresh(conn, rpc, cfg)


@main.command("funding")
@click.option("--chain", metavar="NAME", default="base", help="The token's chain (of the configuration).")
@pass_state
def funding_cmd(state: State, chain: str) -> None:
    """Refresh the funding trace: write the configured insiders, bridges and markets, and read
    eth_getCode (one call per distinct unclassified funder, batched) to tell contracts from wallets.
    The Base backfill does this at its end; run it after `run` has followed new blocks."""
    cfg = state.config.chain(chain)

    async def go(pool: asyncpg.Pool) -> funding.FundingResult | None:
        async with RpcClient(cfg.rpc_urls, chain_name=cfg.name) as rpc:
            await rpc.check_chain_id(cfg.chain_id)
            return await _refresh_funding(pool, rpc, cfg)

    r = run(with_pool(state, go))
    if r is None:
        click.echo(f"{chain}: no token contract configured, nothing to trace")
    else:
        click.echo(f"{chain}: {r.labels} address labels; eth_getCode for {r.checked} funders ({r.contracts} contracts)")
