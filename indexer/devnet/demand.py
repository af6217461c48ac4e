"""The demand model: payers, their x402 sessions on Base and the inference requests inside them."""

from __future__ import annotations

import random
from dataclasses import dataclass

from indexer.devnet.actors import random_address
from indexer.devnet.catalog import GATEWAY_LLMS

DAY = 86_400
SESSION_CAP_RAW = 10**17  # 0.1 OPG (18 decimals), the gateway's upto cap per session
IDLE_SECONDS = 100  # a session settles after idling this long
# Relative traffic per UTC hour (quiet night in Europe/US, busy afternoons).
HOURLY = (3, 2, 2, 2, 2, 3, 4, 5, 6, 7, 8, 8, 9, 10, 11, 11, 12, 12, 11, 10, 8, 6, 5, 4)
MODEL_WEIGHTS = (40, 25, 15, 10, 6, 4)


@dataclass(frozen=True)
class Request:
    ts: int
    model: str
    mode: str  # batch | individual | private


@dataclass(frozen=True)
class Session:
    payer: str
    cohort: str  # app | regular | same_day_twice | across_midnight
    pay_ts: int
    valid_after: int
    requests: tuple[Request, ...]
    amount_raw: int


def ceil_minute(ts: int) -> int:
    return -(-ts // 60) * 60


def _minute_of_day(rng: random.Random, earliest: int = 0) -> int:
    hour = rng.choices(range(24), weights=HOURLY)[0]
    return max(earliest, hour * 60 + rng.randrange(60))


def _session(rng: random.Random, payer: str, cohort: str, begin: int, n: int,
             pay_ts: int | None = None) -> Session:
    primary = rng.choices(GATEWAY_LLMS, weights=MODEL_WEIGHTS)[0]
    private = rng.random() < 0.12
    gaps = [rng.randint(8, 90) for _ in range(n)]
    if pay_ts is not None:  # fixed settlement time: lay the requests out before it
        begin = pay_ts - IDLE_SECONDS - 59 - sum(gaps[:-1])
    times, t = [], begin
    for g in gaps:
        times.append(t)
        t += g
    requests = []
    for ts in times:
        model = primary if rng.random() < 0.85 else rng.choice(GATEWAY_LLMS)
        mode = "private" if private else ("individual" if rng.random() < 0.05 else "batch")
        requests.append(Request(ts, model, mode))
    cost = sum(rng.randint(2 * 10**14, 6 * 10**15) for _ in requests)
    settle = ceil_minute(times[-1] + IDLE_SECONDS) if pay_ts is None else pay_ts
    return Session(payer, cohort, settle, begin - rng.randint(5, 60), tuple(requests),
                   min(cost, SESSION_CAP_RAW))


def sessions(rng: random.Random, start: int, days: int) -> list[Session]:
    """All paid sessions in [start, start + days): heavy-tailed payers, sorted by payment time."""
    end = start + days * DAY
    out: list[Session] = []
    apps = [(random_address(rng), lo, hi) for lo, hi in ((25, 45), (12, 25), (5, 12))]
    regulars: list[tuple[str, float]] = []
    for d in range(days):
        day0 = start + d * DAY
        earliest = 60 if d == 0 else 0  # TEEs register in the first hour of the window
        for payer, lo, hi in apps:
            for _ in range(rng.randint(lo, hi)):
                begin = day0 + _minute_of_day(rng, earliest) * 60 + rng.randrange(60)
                out.append(_session(rng, payer, "app", begin, rng.randint(10, 60)))
        returning = [p for p, stay in regulars if rng.random() < stay]
        fresh = []
        for _ in range(rng.randint(10, 22)):
            r = rng.random()
            stay = 0.0 if r < 0.55 else (rng.uniform(0.2, 0.4) if r < 0.85 else rng.uniform(0.6, 0.9))
            fresh.append((random_address(rng), stay))
        regulars += fresh
        for payer in returning + [p for p, _ in fresh]:
            for _ in range(min(5, 1 + int(rng.expovariate(1.2)))):
                begin = day0 + _minute_of_day(rng, earliest) * 60 + rng.randrange(60)
                out.append(_session(rng, payer, "regular", begin, rng.randint(1, 15)))
    twice_day = start + min(1, days - 1) * DAY
    twice = random_address(rng)
    for hhmm in (10 * 60, 16 * 60 + 30):
        out.append(_session(rng, twice, "same_day_twice", 0, rng.randint(2, 8),
                            pay_ts=twice_day + hhmm * 60))
    if days >= 2:
        midnight = random_address(rng)
        for pay in (start + DAY - 60, start + DAY + 60):  # 23:59 and 00:01 UTC
            out.append(_session(rng, midnight, "across_midnight", 0, rng.randint(2, 6),
                                pay_ts=pay))
    out = [s for s in out if s.pay_ts < end]
    out.sort(key=lambda s: (s.pay_ts, s.payer))
    return out
