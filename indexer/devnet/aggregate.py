"""Derive the ground truth's per-TEE, per-day, per-payer and per-model figures from the facts."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import TypeVar

from indexer.devnet.catalog import Model, kind_of
from indexer.devnet.demand import DAY, Session
from indexer.devnet.payloads import walrus_truth
from indexer.devnet.records import (
    Anomaly,
    Approval,
    Fact,
    Heartbeat,
    Inference,
    Payment,
    Settlement,
    TeeRegistration,
    TeeToggle,
    WalrusBlob,
    X402Event,
    iso,
    parse_iso,
)
from indexer.devnet.traffic_tee import TeeSpec
from indexer.devnet.truth import (
    FORMAT,
    HEARTBEAT_MAX_AGE,
    SETTLEMENT_KINDS,
    Actors,
    ChainSummary,
    Day,
    GroundTruth,
    ModelUse,
    Offchain,
    Payer,
    SimConfig,
    Tee,
    sum_raw,
)

_T = TypeVar("_T")


def _of(facts: Sequence[Fact], kind: type[_T]) -> tuple[_T, ...]:
    return tuple(f for f in facts if isinstance(f, kind))


class _TeeHistory:
    """Registration, toggles and heartbeats of one TEE, for state-at-a-moment questions."""

    def __init__(self, reg: TeeRegistration, facts: Sequence[Fact]) -> None:
        self.reg = reg
        self.toggles = [(parse_iso(f.time), f.enabled) for f in facts
                        if isinstance(f, TeeToggle) and f.tee_id == reg.tee_id]
        self.beats = [f for f in facts if isinstance(f, Heartbeat) and f.tee_id == reg.tee_id]
        self.beat_ts = [parse_iso(b.time) for b in self.beats]

    def active_at(self, moment: int) -> bool:
        """Registered, enabled and heartbeat at most 1800 s old, just before `moment`."""
        if parse_iso(self.reg.time) >= moment:
            return False
        enabled = True
        for ts, on in self.toggles:
            if ts < moment:
                enabled = on
        last = max((ts for ts in self.beat_ts if ts < moment), default=None)
        return enabled and last is not None and moment - last <= HEARTBEAT_MAX_AGE


def _tees(facts: Sequence[Fact], specs: Sequence[TeeSpec], end: int) -> tuple[Tee, ...]:
    fate = {"0x" + s.tee_id.hex(): s.fate for s in specs}
    out = []
    for reg in _of(facts, TeeRegistration):
        h = _TeeHistory(reg, facts)
        last = h.beats[-1] if h.beats else None
        out.append(Tee(
            tee_id=reg.tee_id, registry=reg.registry, owner=reg.owner, tee_type=reg.tee_type,
            registered_at=reg.time, registered_block=reg.block,
            payment_address=reg.payment_address, endpoint=reg.endpoint,
            enabled=h.toggles[-1][1] if h.toggles else True, heartbeats=len(h.beats),
            last_heartbeat_at=last.time if last else None,
            last_heartbeat_block=last.block if last else None,
            last_heartbeat_timestamp=last.heartbeat_timestamp if last else None,
            fate=fate[reg.tee_id], active_at_end=h.active_at(end),
        ))
    return tuple(out)


def _payers(payments: Sequence[Payment], approvals: Sequence[Approval]) -> dict[str, Payer]:
    onboarded: dict[str, str] = {}
    for a in approvals:
        if a.to_permit2:
            onboarded.setdefault(a.owner, a.time)
    by_payer: dict[str, list[Payment]] = defaultdict(list)
    for p in payments:
        by_payer[p.payer].append(p)
    out = {}
    for payer, ps in by_payer.items():
        days = tuple(sorted({p.time[:10] for p in ps}))
        out[payer] = Payer(
            payments=len(ps), amount_raw=sum_raw([p.amount_raw for p in ps]),
            first_payment_at=ps[0].time, last_payment_at=ps[-1].time, days=days,
            returning=len(days) > 1, onboarded_at=onboarded.get(payer),
            schemes=dict(Counter(p.scheme or "" for p in ps)),
        )
    return out


def _daily(start: int, days: int, facts: Sequence[Fact], histories: Sequence[_TeeHistory]
           ) -> dict[str, Day]:
    payments = [p for p in _of(facts, Payment) if p.is_x402]
    first_day: dict[str, str] = {}
    for p in payments:
        first_day.setdefault(p.payer, p.time[:10])
    first_onboard: dict[str, str] = {}
    for a in _of(facts, Approval):
        if a.to_permit2:
            first_onboard.setdefault(a.owner, a.time[:10])
    out = {}
    for d in range(days):
        day = iso(start + d * DAY)[:10]
        todays = [p for p in payments if p.time.startswith(day)]
        payers = {p.payer for p in todays}
        trusted = [s for s in _of(facts, Settlement) if s.time.startswith(day) and s.trusted]
        kinds = Counter(s.kind for s in trusted)
        out[day] = Day(
            payments=len(todays), amount_raw=sum_raw([p.amount_raw for p in todays]),
            payers=len(payers),
            new_payers=sum(1 for p in payers if first_day[p] == day),
            returning_payers=sum(1 for p in payers if first_day[p] < day),
            approvals_to_permit2=sum(1 for a in _of(facts, Approval)
                                     if a.to_permit2 and a.time.startswith(day)),
            onboarded=sum(1 for d0 in first_onboard.values() if d0 == day),
            non_x402_transfers_to_pay_to=sum(1 for p in _of(facts, Payment)
                                             if not p.is_x402 and p.time.startswith(day)),
            settlements=len(trusted),
            settlements_by_kind={k: kinds.get(k, 0) for k in SETTLEMENT_KINDS},
            untrusted_settlements=sum(1 for s in _of(facts, Settlement)
                                      if s.time.startswith(day) and not s.trusted),
            inferences_settled=sum(s.inferences for s in trusted),
            inferences_verified=sum(1 for s in trusted if s.verified_on_chain),
            legacy_inferences=sum(1 for i in _of(facts, Inference)
                                  if i.source == "precompile" and i.time.startswith(day)),
            heartbeats=sum(1 for h in _of(facts, Heartbeat) if h.time.startswith(day)),
            tees_active_at_end=sum(1 for h in histories if h.active_at(start + (d + 1) * DAY)),
        )
    return out


def _models(catalog: Sequence[Model], facts: Sequence[Fact]) -> dict[str, ModelUse]:
    legacy = [i for i in _of(facts, Inference) if i.source == "precompile"]
    meta = [s for s in _of(facts, Settlement) if s.kind == "legacy_metadata" and s.model]
    listed = {m.model: m for m in catalog}
    names = sorted(set(listed) | {i.model for i in legacy} | {s.model or "" for s in meta})
    out = {}
    for name in names:
        uses = [i for i in legacy if i.model == name]
        metas = [s for s in meta if s.model == name]
        seen = sorted([i.time for i in uses] + [s.time for s in metas])
        out[name] = ModelUse(
            kind=listed[name].kind if name in listed else kind_of(name),
            listed=name in listed and listed[name].listed,
            legacy_inferences=len(uses), legacy_payers=len({i.payer for i in uses}),
            metadata_settlements=len(metas),
            first_seen_at=seen[0] if seen else None, last_seen_at=seen[-1] if seen else None,
        )
    return out


def _offchain(sessions: Sequence[Session]) -> Offchain:
    requests = [r for s in sessions for r in s.requests]
    return Offchain(
        sessions=len(sessions),
        private_sessions=sum(1 for s in sessions if s.requests[0].mode == "private"),
        requests=len(requests),
        requests_by_mode=dict(sorted(Counter(r.mode for r in requests).items())),
        requests_by_model=dict(sorted(Counter(r.model for r in requests).items())),
    )


def build_truth(
    config: SimConfig, chains: dict[str, ChainSummary], actors: Actors, catalog: Sequence[Model],
    og_facts: Sequence[Fact], base_facts: Sequence[Fact], specs: Sequence[TeeSpec],
    sessions: Sequence[Session],
) -> GroundTruth:
    start, end = parse_iso(config.start), parse_iso(config.end)
    facts = [*og_facts, *base_facts]
    payments = _of(base_facts, Payment)
    approvals = _of(base_facts, Approval)
    histories = [_TeeHistory(r, og_facts) for r in _of(og_facts, TeeRegistration)]
    return GroundTruth(
        format=FORMAT, config=config, chains=chains, actors=actors, catalog=tuple(catalog),
        payments=payments, approvals=approvals, x402_events=_of(base_facts, X402Event),
        settlements=_of(og_facts, Settlement), inferences=_of(og_facts, Inference),
        tees=_tees(og_facts, specs, end), anomalies=_of(facts, Anomaly),
        daily=_daily(start, config.days, facts, histories),
        payers=_payers([p for p in payments if p.is_x402], approvals),
        models=_models(catalog, og_facts), offchain=_offchain(sessions),
        walrus=walrus_truth(_of(og_facts, WalrusBlob)),
    )
