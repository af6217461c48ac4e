"""Run the traffic simulation on the two devnet chains and return its ground truth."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from eth_utils.crypto import keccak

from indexer.config import BASE, OPENGRADIENT
from indexer.devnet import actors
from indexer.devnet.aggregate import build_truth
from indexer.devnet.anvil_client import AnvilClient as RpcClient
from indexer.devnet.catalog import catalog
from indexer.devnet.contracts import install_chain
from indexer.devnet.demand import DAY, Session, sessions
from indexer.devnet.emitter import LogSpec
from indexer.devnet.errors import DevnetError
from indexer.devnet.payloads import Payloads
from indexer.devnet.plan import Emit, Mined, PlannedTx, call, event, mine_plan
from indexer.devnet.records import Anomaly, PayerFunding, iso
from indexer.devnet.traffic_base import base_traffic
from indexer.devnet.traffic_foreign import foreign_traffic
from indexer.devnet.traffic_funding import funding_traffic, with_funding
from indexer.devnet.traffic_og import (
    legacy_inference_traffic,
    legacy_relay_traffic,
    settlement_traffic,
)
from indexer.devnet.traffic_tee import REG_ABI, TeeSpec, tee_traffic
from indexer.devnet.truth import Actors, ChainSummary, GroundTruth, SimConfig

DEFAULT_START = "2026-05-04T00:00:00Z"  # a Monday
MAX_DAYS = 60


def parse_start(text: str) -> int:
    """Epoch seconds of an ISO date or date-time (`2026-05-04`, `…T00:00:00Z`), a whole minute."""
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DevnetError(f"start {text!r} is not an ISO date or date-time") from None
    dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    ts = int(dt.timestamp())
    if ts % 60:
        raise DevnetError(f"start {text!r} must be a whole minute")
    return ts


def _og_anomalies(rng: random.Random, start: int, days: int) -> list[PlannedTx]:
    """An unknown event at the relay and a HeartbeatReceived whose data is too short."""
    ts1 = start + rng.randrange(60, days * 1440 - 1) * 60
    ts2 = start + rng.randrange(60, days * 1440 - 1) * 60
    unknown_topic = keccak(text="DevnetUnknownEvent(uint256)")
    unknown = LogSpec(actors.RELAY, (unknown_topic,), (1).to_bytes(32, "big"))
    tee_id = rng.randbytes(32)
    beat = event(OPENGRADIENT, actors.REGISTRY, REG_ABI, "HeartbeatReceived", tee_id, ts2)
    bad = LogSpec(actors.REGISTRY, beat.log.topics, b"\x00" * 7)
    return [
        PlannedTx(ts1, actors.RELAYER, actors.RELAY, b"", (Emit(unknown, "anomaly.unknown_topic"),),
                  [Anomaly("opengradient", iso(ts1), 0, actors.RELAY, "unknown_topic",
                           "0x" + unknown_topic.hex())]),
        PlannedTx(ts2, actors.RELAYER, actors.REGISTRY,
                  call(REG_ABI, "heartbeat", tee_id, ts2, rng.randbytes(64)),
                  (Emit(bad, "anomaly.decode_error"),),
                  [Anomaly("opengradient", iso(ts2), 0, actors.REGISTRY, "decode_error",
                           "0x" + bad.topics[0].hex())]),
    ]


def _summary(chain_id: int, mined: Mined, txs: Sequence[PlannedTx]) -> ChainSummary:
    counts = Counter(e.key for t in txs for e in t.emits if not e.key.startswith("anomaly."))
    times = sorted(mined.block_of)
    return ChainSummary(
        chain_id=chain_id, first_block=mined.first_block, last_block=mined.last_block,
        first_block_time=iso(times[0]), last_block_time=iso(times[-1]),
        blocks=mined.last_block - mined.first_block + 1, txs=mined.txs, logs=mined.logs,
        event_counts=dict(sorted(counts.items())),
    )


def _prepare(url: str, chain_id: int, reset: bool) -> RpcClient:
    rpc = RpcClient(url)
    try:
        got = int(rpc.call("eth_chainId"), 16)
        if got != chain_id:
            raise DevnetError(f"{url} has chain id {got}, expected {chain_id}")
        if reset:
            rpc.call("anvil_reset", [])
            rpc.call("anvil_setNextBlockBaseFeePerGas", ["0x0"])  # reset restores a 1 gwei fee
        install_chain(rpc)
    except DevnetError:
        rpc.close()
        raise
    return rpc


@dataclass(frozen=True)
class Traffic:
    """Everything one simulation will send, before it touches a chain."""

    seed: int
    start: int
    days: int
    anomalies: bool
    og_txs: list[PlannedTx]
    base_txs: list[PlannedTx]
    tees: list[TeeSpec]
    sessions: list[Session]
    legacy_users: tuple[str, ...]
    blobs: dict[str, bytes] = field(default_factory=dict)  # Walrus payloads the aggregator serves
    funding: dict[str, PayerFunding] = field(default_factory=dict)  # expected trace per payer
    # Other merchants' x402 settlements on Base, in OpenGradient's blocks; no fact, not in the truth.
    foreign_txs: list[PlannedTx] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.start + self.days * DAY

    @property
    def final_times(self) -> list[int]:
        """Block times mined even without transactions: the window's last minute."""
        return [self.end - 60]


def plan_traffic(days: int, seed: int, start: str = DEFAULT_START, anomalies: bool = True,
                 foreign_x402: int = 0) -> Traffic:
    """The transactions of both chains for `days` UTC days from `start` (pure, deterministic), with
    foreign_x402 other merchants' settlements per OpenGradient one on Base (traffic_foreign)."""
    if not 1 <= days <= MAX_DAYS:
        raise DevnetError(f"days must be between 1 and {MAX_DAYS}, got {days}")
    t0 = parse_start(start)
    demand = sessions(random.Random(f"{seed}/demand"), t0, days)
    og_rng = random.Random(f"{seed}/og")
    payloads = Payloads(random.Random(f"{seed}/walrus"), t0, days)
    tee_txs, specs = tee_traffic(og_rng, t0, days)
    requests = [r for s in demand for r in s.requests]
    legacy = legacy_inference_traffic(og_rng, t0, days)
    og_txs = [
        *tee_txs,
        *settlement_traffic(og_rng, t0, days, requests, specs, payloads),
        *legacy_relay_traffic(og_rng, t0, days),
        *legacy,
        *(_og_anomalies(og_rng, t0, days) if anomalies else []),
    ]
    base_txs = base_traffic(random.Random(f"{seed}/base"), t0, days, demand, anomalies)
    funding_txs, funding = funding_traffic(random.Random(f"{seed}/funding"), t0, demand)
    users = tuple(sorted({t.sender for t in legacy}))
    foreign = foreign_traffic(random.Random(f"{seed}/foreign"), base_txs, foreign_x402)
    return Traffic(seed, t0, days, anomalies, og_txs, base_txs + funding_txs, specs, demand, users, payloads.served,
                   funding, foreign)


def simulate(
    og_url: str,
    base_url: str,
    days: int = 7,
    seed: int = 42,
    start: str = DEFAULT_START,
    *,
    anomalies: bool = True,
    reset: bool = False,
    blob_dir: Path | None = None,
    foreign_x402: int = 0,
) -> GroundTruth:
    """Generate `days` UTC days of traffic from `start`, mine it on both nodes, return the truth.

    The nodes' heads must be older than `start` (fresh `devnet up` nodes are), or pass reset=True
    to anvil_reset them first. Same arguments on fresh nodes give byte-identical truth. blob_dir:
    where the Walrus payloads go (one file per blob id, what the aggregator stand-in serves).
    foreign_x402: other merchants' x402 settlements per OpenGradient one, mined in OpenGradient's
    Base blocks; the truth is the same whatever it is.
    """
    traffic = plan_traffic(days, seed, start, anomalies, foreign_x402)
    if blob_dir is not None:
        write_blobs(traffic.blobs, blob_dir)
    final = traffic.final_times
    og_rpc = _prepare(og_url, OPENGRADIENT.chain_id, reset)
    try:
        base_rpc = _prepare(base_url, BASE.chain_id, reset)
        try:
            with ThreadPoolExecutor(2) as pool:
                og_job = pool.submit(mine_plan, og_rpc, traffic.og_txs, final)
                base_job = pool.submit(mine_plan, base_rpc, traffic.base_txs, final, traffic.foreign_txs)
                og_mined, base_mined = og_job.result(), base_job.result()
        finally:
            base_rpc.close()
    finally:
        og_rpc.close()
    return ground_truth(traffic, og_mined, base_mined)


def write_blobs(blobs: dict[str, bytes], blob_dir: Path) -> None:
    """The payloads as the stand-in aggregator serves them; earlier files in blob_dir are removed."""
    try:
        blob_dir.mkdir(parents=True, exist_ok=True)
        for old in blob_dir.iterdir():
            if old.is_file():
                old.unlink()
        for blob_id, body in blobs.items():
            (blob_dir / blob_id).write_bytes(body)
    except OSError as e:
        raise DevnetError(f"cannot write the Walrus payloads to {blob_dir}: {e}") from e


def ground_truth(traffic: Traffic, og_mined: Mined, base_mined: Mined) -> GroundTruth:
    """The truth document for a plan mined as og_mined / base_mined describe."""
    chains = {
        "opengradient": _summary(OPENGRADIENT.chain_id, og_mined, traffic.og_txs),
        "base": _summary(BASE.chain_id, base_mined, traffic.base_txs),
    }
    config = SimConfig(days=traffic.days, seed=traffic.seed, start=iso(traffic.start),
                       end=iso(traffic.end), anomalies=traffic.anomalies)
    who = Actors(
        relayers=(actors.RELAYER,), untrusted_settlers=(actors.STRANGER,),
        registry_admin=actors.OG_ADMIN,
        tee_operators=tuple(sorted({s.owner for s in traffic.tees})),
        facilitators=actors.FACILITATORS, pay_to=BASE.pay_to, legacy_users=traffic.legacy_users,
    )
    truth = build_truth(config, chains, who, catalog(), og_mined.stamp(traffic.og_txs),
                        base_mined.stamp(traffic.base_txs), traffic.tees, traffic.sessions)
    return with_funding(truth, traffic.base_txs, base_mined, traffic.funding)
