"""The `devnet` command group: local anvil chains up/down/status and the traffic simulator."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import click

from indexer.devnet import aggregator
from indexer.devnet.errors import DevnetError
from indexer.devnet.nodes import (
    DEFAULT_BASE_PORT,
    DEFAULT_OG_PORT,
    GROUND_TRUTH_FILE,
    STATE_DIR,
    NodeStatus,
    devnet_urls,
    down,
    status,
    up,
)
from indexer.devnet.simulate import DEFAULT_START, MAX_DAYS, simulate


def _line(node: NodeStatus) -> str:
    state = f"running, head block {node.block}" if node.running else "not running"
    return f"{node.name:<13} chain {node.chain_id:<6} {node.url:<24} pid {node.pid:<8} {state}"


@click.group("devnet")
def devnet() -> None:
    """Local stand-in for OpenGradient: two anvil chains and a deterministic traffic simulator."""


@devnet.command("up")
@click.option("--og-port", type=click.IntRange(1, 65535), default=DEFAULT_OG_PORT,
              show_default=True, envvar="DEVNET_OG_PORT", show_envvar=True,
              help="Port of the OpenGradient chain node (chain id 10740).")
@click.option("--base-port", type=click.IntRange(1, 65535), default=DEFAULT_BASE_PORT,
              show_default=True, envvar="DEVNET_BASE_PORT", show_envvar=True,
              help="Port of the Base chain node (chain id 8453).")
@click.option("--walrus-port", type=click.IntRange(1, 65535), default=aggregator.DEFAULT_PORT,
              show_default=True, envvar="DEVNET_WALRUS_PORT", show_envvar=True,
              help="Port of the Walrus aggregator stand-in (serves .devnet/walrus/).")
def up_cmd(og_port: int, base_port: int, walrus_port: int) -> None:
    """Start both nodes on 127.0.0.1 with log emitters at every contract address, and the Walrus
    aggregator stand-in (idempotent)."""
    if len({og_port, base_port, walrus_port}) < 3:
        raise click.ClickException("--og-port, --base-port and --walrus-port must differ")
    try:
        nodes, started = up(og_port, base_port)
        walrus_url, walrus_new = aggregator.start_process(STATE_DIR, walrus_port)
    except DevnetError as e:
        raise click.ClickException(str(e)) from None
    for node in nodes:
        note = "started" if node.name in started else "already running"
        click.echo(f"{_line(node)} ({note})")
    click.echo(f"{'walrus':<13} {'':<12} {walrus_url:<24} "
               f"({'started' if walrus_new else 'already running'})")
    click.echo(f"state and logs in {STATE_DIR}")


@devnet.command("down")
def down_cmd() -> None:
    """Stop both nodes and forget their state."""
    try:
        stopped = down()
        if aggregator.stop_process(STATE_DIR):
            stopped.append("walrus")
    except DevnetError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"stopped {', '.join(stopped)}" if stopped else "no devnet node was running")


@devnet.command("status")
def status_cmd() -> None:
    """Show the recorded nodes and whether they answer."""
    try:
        nodes = status()
    except DevnetError as e:
        raise click.ClickException(str(e)) from None
    if not nodes:
        click.echo("no devnet (start it with `og-indexer devnet up`)")
    for node in nodes:
        click.echo(_line(node))
    walrus_url = aggregator.running_url(STATE_DIR)
    if nodes or walrus_url:
        click.echo(f"{'walrus':<13} {'':<12} {walrus_url or '':<24} "
                   f"{'running' if walrus_url else 'not running'}")


@devnet.command("simulate")
@click.option("--days", type=click.IntRange(1, MAX_DAYS), default=7, show_default=True,
              envvar="DEVNET_DAYS", show_envvar=True, help="UTC days of chain time to simulate.")
@click.option("--seed", type=int, default=42, show_default=True, envvar="DEVNET_SEED",
              show_envvar=True, help="Random seed; the same seed gives the same traffic and truth.")
@click.option("--start", default=DEFAULT_START, show_default=True, envvar="DEVNET_START",
              show_envvar=True, help="UTC start of the window (ISO date or date-time).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=STATE_DIR / GROUND_TRUTH_FILE, show_default=f".devnet/{GROUND_TRUTH_FILE}",
              envvar="DEVNET_OUT",
              show_envvar=True, help="Where to write the ground-truth JSON.")
@click.option("--og-url", default=None, show_default="the running devnet's",
              envvar="DEVNET_OG_URL", show_envvar=True, help="OpenGradient node RPC URL.")
@click.option("--base-url", default=None, show_default="the running devnet's",
              envvar="DEVNET_BASE_URL", show_envvar=True, help="Base node RPC URL.")
@click.option("--reset/--no-reset", default=False, show_default=True,
              help="anvil_reset both nodes first (needed when they already hold a simulation).")
@click.option("--anomalies/--no-anomalies", default=True, show_default=True,
              help="Also emit logs an indexer must keep raw (unknown topic0, undecodable data).")
@click.option("--foreign-x402", type=click.IntRange(0, 100), default=1, show_default=True,
              envvar="DEVNET_FOREIGN_X402", show_envvar=True,
              help="Other merchants' x402 settlements through the same proxies (in a USDC-like token), "
                   "per OpenGradient settlement; not OpenGradient's, so not in the ground truth.")
def simulate_cmd(days: int, seed: int, start: str, out: Path, og_url: str | None,
                 base_url: str | None, reset: bool, anomalies: bool, foreign_x402: int) -> None:
    """Mine simulated OpenGradient traffic on both nodes and write the ground truth."""
    began = time.monotonic()
    try:
        if og_url is None or base_url is None:
            urls = devnet_urls()
            og_url, base_url = og_url or urls["opengradient"], base_url or urls["base"]
        truth = simulate(og_url, base_url, days, seed, start, anomalies=anomalies, reset=reset,
                         blob_dir=out.parent / "walrus", foreign_x402=foreign_x402)
        truth.write(out)
        listed = [{"model": m.model, "kind": m.kind, "source": f"devnet-{m.source}"} for m in truth.catalog if m.listed]
        (out.parent / "catalog.json").write_text(json.dumps(listed, indent=1) + "\n")
    except (DevnetError, OSError) as e:
        raise click.ClickException(str(e)) from None
    c = truth.config
    click.echo(f"simulated {c.days} day(s) {c.start} .. {c.end} with seed {c.seed} "
               f"in {time.monotonic() - began:.1f}s")
    for name, chain in truth.chains.items():
        click.echo(f"  {name:<13} blocks {chain.first_block}-{chain.last_block}  "
                   f"txs {chain.txs}  logs {chain.logs}")
    trusted = [s for s in truth.settlements if s.trusted]
    click.echo(f"  payments {len(truth.x402_payments)} from {len(truth.payers)} payers; "
               f"settlements {len(trusted)} covering {sum(s.inferences for s in trusted)} "
               f"inferences; legacy inferences "
               f"{sum(1 for i in truth.inferences if i.source == 'precompile')}; "
               f"TEEs {len(truth.tees)}")
    click.echo(f"  foreign x402: {foreign_x402}x OpenGradient's settlements by other merchants, in its Base "
               "blocks (not in the ground truth)")
    served = sum(1 for b in truth.walrus.blobs if b.served)
    click.echo(f"  walrus payloads {served} in {out.parent / 'walrus'} "
               f"({len(truth.walrus.blobs) - served} expired)")
    classes = Counter(f.funding_class for f in truth.funding.values())
    click.echo("  payers by funding class: " + ", ".join(f"{k} {n}" for k, n in sorted(classes.items()))
               + f"; recycled payments {sum(f.recycled_payments for f in truth.funding.values())}")
    click.echo(f"ground truth: {out}")
    click.echo(f"listed models (for og-indexer catalog import): {out.parent / 'catalog.json'}")
