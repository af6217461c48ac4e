"""TEE registry traffic: types, PCRs, registrations with attestation calldata, heartbeats, toggles."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from eth_utils.crypto import keccak

from indexer.config import OPENGRADIENT
from indexer.devnet.actors import OG_ADMIN, PAY_TO, REGISTRY, RELAYER, random_address
from indexer.devnet.demand import DAY
from indexer.devnet.plan import PlannedTx, call, event
from indexer.devnet.records import Heartbeat, TeeRegistration, TeeToggle, iso

REG_ABI = "TEERegistry.json"
HEARTBEAT_EVERY = 900
TEE_TYPES = ((0, "LLMProxy"), (1, "Validator"))


@dataclass
class TeeSpec:
    index: int
    tee_id: bytes
    owner: str
    tee_type: int
    reg_ts: int
    fate: str  # live | dead | disabled | toggled
    stop_ts: int | None = None  # last moment it heartbeats (dead or disabled)
    off: list[tuple[int, int]] = field(default_factory=list)  # disabled intervals [from, to)

    def serving(self, ts: int) -> bool:
        """Registered, heartbeating and enabled at ts: a gateway would route requests to it."""
        if ts <= self.reg_ts or (self.stop_ts is not None and ts >= self.stop_ts):
            return False
        return not any(lo <= ts < hi for lo, hi in self.off)

    def heartbeats_at(self, ts: int) -> bool:
        return ts > self.reg_ts and (self.stop_ts is None or ts < self.stop_ts)


def _minute(start: int, window: int, fraction: float, rng: random.Random) -> int:
    return start + (int(window * fraction) // 60 + rng.randrange(0, 30)) * 60


def tee_traffic(rng: random.Random, start: int, days: int) -> tuple[list[PlannedTx], list[TeeSpec]]:
    window = days * DAY
    end = start + window
    txs: list[PlannedTx] = []
    for i, (type_id, name) in enumerate(TEE_TYPES):
        ts = start + i * 60
        txs.append(PlannedTx(ts, OG_ADMIN, REGISTRY, call(REG_ABI, "addTEEType", type_id, name),
                             (event(OPENGRADIENT, REGISTRY, REG_ABI, "TEETypeAdded", type_id, name),)))
        pcrs = (rng.randbytes(48), rng.randbytes(48), rng.randbytes(48))
        version = f"v0.{9 + type_id}.{rng.randrange(10)}"
        txs.append(PlannedTx(
            ts + 120, OG_ADMIN, REGISTRY, call(REG_ABI, "approvePCR", pcrs, version, type_id),
            (event(OPENGRADIENT, REGISTRY, REG_ABI, "PCRApproved", keccak(b"".join(pcrs)),
                   type_id, version),)))
    operators = [random_address(rng) for _ in range(3)]
    types = [0, 0, 0, 0, 0, 1, 1, 1]
    fates = ["live", "live", "dead", "disabled", "live", "live", "toggled", "dead"]
    specs: list[TeeSpec] = []
    for i, (tee_type, fate) in enumerate(zip(types, fates, strict=True)):
        reg = start + (5 + 4 * i) * 60
        if i == 4:  # joins later: day 2 morning (or 40 % into a one-day window)
            reg = start + DAY + 9 * 3600 if days >= 2 else _minute(start, window, 0.4, rng)
        pubkey = rng.randbytes(65)
        spec = TeeSpec(i, keccak(pubkey), operators[i % 3], tee_type, reg, fate)
        if fate == "dead":
            spec.stop_ts = _minute(start, window, 0.55 if tee_type == 0 else 0.3, rng)
        elif fate == "disabled":
            spec.stop_ts = _minute(start, window, 0.7, rng)
            spec.off.append((spec.stop_ts, end))
        elif fate == "toggled":
            off = _minute(start, window, 0.4, rng)
            spec.off.append((off, off + 2 * 3600))
        specs.append(spec)
        kind = "llm" if tee_type == 0 else "validator"
        endpoint = f"https://{kind}-tee-{i + 1}.opengradient.ai"
        reg_call = call(REG_ABI, "registerTEEWithAttestation", rng.randbytes(600), pubkey,
                        rng.randbytes(300), PAY_TO, endpoint, tee_type)
        txs.append(PlannedTx(
            reg, spec.owner, REGISTRY, reg_call,
            (event(OPENGRADIENT, REGISTRY, REG_ABI, "TEERegistered", spec.tee_id, spec.owner,
                   tee_type),),
            [TeeRegistration(iso(reg), 0, REGISTRY, "0x" + spec.tee_id.hex(), spec.owner,
                             tee_type, PAY_TO, endpoint)]))
        for lo, hi in spec.off:
            txs.append(_toggle(lo, spec, False))
            if hi < end:
                txs.append(_toggle(hi, spec, True))
    tick = start + 15 * 60
    while tick < end:
        ts = tick + rng.randrange(3) * 60
        if ts >= end:
            break
        for spec in specs:
            if spec.heartbeats_at(ts):
                signed = ts - rng.randint(1, 20)
                txs.append(PlannedTx(
                    ts, RELAYER, REGISTRY,
                    call(REG_ABI, "heartbeat", spec.tee_id, signed, rng.randbytes(64)),
                    (event(OPENGRADIENT, REGISTRY, REG_ABI, "HeartbeatReceived", spec.tee_id,
                           signed),),
                    [Heartbeat(iso(ts), 0, "0x" + spec.tee_id.hex(), signed)]))
        tick += HEARTBEAT_EVERY
    return txs, specs


def _toggle(ts: int, spec: TeeSpec, enabled: bool) -> PlannedTx:
    name = "TEEEnabled" if enabled else "TEEDisabled"
    fn = "enableTEE" if enabled else "disableTEE"
    return PlannedTx(ts, OG_ADMIN, REGISTRY, call(REG_ABI, fn, spec.tee_id),
                     (event(OPENGRADIENT, REGISTRY, REG_ABI, name, spec.tee_id),),
                     [TeeToggle(iso(ts), 0, "0x" + spec.tee_id.hex(), enabled)])
