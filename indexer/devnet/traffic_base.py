"""Base traffic: x402 settlements (upto, exact, with permit), onboarding approvals, plain transfers."""

from __future__ import annotations

import random

from eth_utils.crypto import keccak

from indexer.config import BASE
from indexer.devnet.actors import (
    DEX_ROUTER,
    FACILITATORS,
    PAY_TO,
    PERMIT2,
    TOKEN,
    UPTO,
    random_address,
    random_word,
)
from indexer.devnet.demand import DAY, SESSION_CAP_RAW, Session
from indexer.devnet.emitter import LogSpec
from indexer.devnet.plan import Emit, PlannedTx, call, event
from indexer.devnet.records import Anomaly, Approval, Fact, Payment, X402Event, iso
from indexer.devnet.x402 import UPTO_ABI, settle_call

ERC20 = "OPG_ERC20_Base.json"
MAX_UINT = 2**256 - 1
PERMIT_FAILURE = "ERC20Permit: invalid signature"


def _approval(ts: int, owner: str, spender: str, value: int, bundled: bool) -> Approval:
    return Approval(iso(ts), 0, TOKEN, owner, spender, str(value), spender == PERMIT2, bundled)


def _approve_tx(ts: int, owner: str, spender: str, value: int) -> PlannedTx:
    return PlannedTx(
        ts, owner, TOKEN, call(ERC20, "approve", spender, value),
        (event(BASE, TOKEN, ERC20, "Approval", owner, spender, value),),
        [_approval(ts, owner, spender, value, False)],
    )


def _transfer_tx(ts: int, sender: str, to: str, amount: int) -> PlannedTx:
    tx = PlannedTx(ts, sender, TOKEN, call(ERC20, "transfer", to, amount),
                   (event(BASE, TOKEN, ERC20, "Transfer", sender, to, amount),))
    if to == PAY_TO:
        tx.facts.append(Payment(iso(ts), 0, TOKEN, sender, to, str(amount), False, None, None,
                                sender, None, None, None, None))
    return tx


def _settle_tx(rng: random.Random, s: Session, method: str, failed_permit: bool) -> PlannedTx:
    """One facilitator transaction settling a session; method: upto | upto_permit | exact."""
    ts, payer, amount = s.pay_ts, s.payer, s.amount_raw
    facilitator = rng.choice(FACILITATORS)
    nonce, sig = int.from_bytes(random_word(rng), "big"), rng.randbytes(65)
    deadline = ts + 3600
    cap = amount if method == "exact" else SESSION_CAP_RAW
    permit = ((TOKEN, cap), nonce, deadline)
    settle = settle_call(method, permit, amount, payer, PAY_TO, facilitator, s.valid_after, sig,
                         lambda: (MAX_UINT, deadline, random_word(rng), random_word(rng), 27 + rng.randrange(2)))
    proxy, abi_file, done, data = settle.proxy, settle.abi_file, settle.done, settle.data
    emits: list[Emit] = []
    facts: list[Fact] = []
    if done == "SettledWithPermit" and failed_permit:
        emits.append(event(BASE, UPTO, UPTO_ABI, "EIP2612PermitFailedWithReason", TOKEN, payer, PERMIT_FAILURE))
        facts.append(X402Event(iso(ts), 0, UPTO, "upto", "EIP2612PermitFailedWithReason",
                               TOKEN, payer, PERMIT_FAILURE))
    elif done == "SettledWithPermit":
        emits.append(event(BASE, TOKEN, ERC20, "Approval", payer, PERMIT2, MAX_UINT))
        facts.append(_approval(ts, payer, PERMIT2, MAX_UINT, True))
    scheme = "exact" if method == "exact" else "upto"
    emits.append(event(BASE, TOKEN, ERC20, "Transfer", payer, PAY_TO, amount))
    emits.append(event(BASE, proxy, abi_file, done))
    facts.append(Payment(
        iso(ts), 0, TOKEN, payer, PAY_TO, str(amount), True, scheme, proxy, facilitator,
        None if method == "exact" else facilitator, payer,
        None if method == "exact" else str(amount), str(cap),
    ))
    facts.append(X402Event(iso(ts), 0, proxy, scheme, done, None, None, None))
    return PlannedTx(ts, facilitator, proxy, data, tuple(emits), facts)


def base_traffic(
    rng: random.Random, start: int, days: int, sessions: list[Session], anomalies: bool
) -> list[PlannedTx]:
    """Every Base transaction of the simulation (unsorted; the miner orders them by time)."""
    end = start + days * DAY
    txs: list[PlannedTx] = []
    seen: set[str] = set()
    approved: set[str] = set()
    permit_failures = 0
    for s in sessions:
        if s.payer not in seen:
            seen.add(s.payer)
            if rng.random() < 0.25:
                txs.append(_settle_tx(rng, s, "upto_permit", False))
                approved.add(s.payer)
                continue
            lead = rng.randint(2, 40) * 60
            txs.append(_approve_tx(max(start, s.pay_ts - lead), s.payer, PERMIT2, MAX_UINT))
            approved.add(s.payer)
        elif permit_failures < 2 and s.cohort in ("app", "regular") and rng.random() < 0.2:
            permit_failures += 1
            txs.append(_settle_tx(rng, s, "upto_permit", True))
            continue
        txs.append(_settle_tx(rng, s, "exact" if rng.random() < 0.13 else "upto", False))
    payers = sorted(seen)
    for d in range(days):
        day0 = start + d * DAY

        def at(lo: int = 0, hi: int = DAY - 60, day0: int = day0) -> int:
            return day0 + rng.randrange(lo // 60, hi // 60) * 60

        for _ in range(rng.randint(1, 3)):  # onboarding drop-offs: approve, never pay
            txs.append(_approve_tx(at(), random_address(rng), PERMIT2, MAX_UINT))
        for _ in range(rng.randint(1, 2)):  # ordinary approvals to another spender
            owner = rng.choice(payers) if payers and rng.random() < 0.5 else random_address(rng)
            txs.append(_approve_tx(at(), owner, DEX_ROUTER, rng.randint(1, 500) * 10**18))
        for _ in range(rng.randint(4, 8)):  # transfers between third parties
            sender = rng.choice(payers) if payers and rng.random() < 0.3 else random_address(rng)
            txs.append(_transfer_tx(at(), sender, random_address(rng), rng.randint(1, 10**21)))
    # Plain transfers to payTo without an x402 settle: kept, never counted as payments.
    plain_senders = [random_address(rng), random_address(rng), *payers[:1]]
    for sender in plain_senders:
        ts = start + rng.randrange(1, (end - start) // 60) * 60
        txs.append(_transfer_tx(ts, sender, PAY_TO, rng.randint(10**15, 5 * 10**17)))
    if anomalies:
        txs += _anomalies(rng, start, end, txs)
    return txs


def _anomalies(rng: random.Random, start: int, end: int, txs: list[PlannedTx]) -> list[PlannedTx]:
    """A Transfer whose data is too short (decode error), and an unknown event the upto proxy emits
    in one of OpenGradient's settle transactions (the proxies' logs are read in OpenGradient's
    payment transactions only, so that is where an unknown one can be met)."""
    ts1 = start + rng.randrange(1, (end - start) // 60) * 60
    sender, to = random_address(rng), random_address(rng)
    transfer = event(BASE, TOKEN, ERC20, "Transfer", sender, to, 1)
    bad = LogSpec(TOKEN, transfer.log.topics, b"\x01\x02\x03\x04\x05")
    unknown_topic = keccak(text="DevnetUnknownEvent(uint256)")
    unknown = LogSpec(UPTO, (unknown_topic,), (7).to_bytes(32, "big"))
    settle = rng.choice([t for t in txs if t.to == UPTO])
    settle.emits = (*settle.emits, Emit(unknown, "anomaly.unknown_topic"))
    settle.facts.append(Anomaly("base", iso(settle.ts), 0, UPTO, "unknown_topic", "0x" + unknown_topic.hex()))
    return [
        PlannedTx(ts1, sender, TOKEN, call(ERC20, "transfer", to, 1),
                  (Emit(bad, "anomaly.decode_error"),),
                  [Anomaly("base", iso(ts1), 0, TOKEN, "decode_error", "0x" + bad.topics[0].hex())]),
    ]
