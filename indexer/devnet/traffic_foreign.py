"""Foreign x402 traffic on Base: other merchants settling through OpenGradient's proxies in another token."""

from __future__ import annotations

import random

from indexer.abi import load_abi
from indexer.config import BASE
from indexer.devnet.actors import (
    EXACT,
    FOREIGN_FACILITATORS,
    FOREIGN_TOKEN,
    FOREIGN_TOKEN_DECIMALS,
    PERMIT2,
    UPTO,
    random_address,
    random_word,
)
from indexer.devnet.emitter import LogSpec
from indexer.devnet.plan import Emit, PlannedTx, encode_event, event
from indexer.devnet.traffic_base import ERC20, MAX_UINT, PERMIT_FAILURE
from indexer.devnet.x402 import UPTO_ABI, settle_call

MERCHANTS = 12  # foreign payTo addresses
PAYERS_PER_MERCHANT = 25
# How the foreign settlements split: method -> weight; methods as traffic_base._settle_tx names them,
# plus a settleWithPermit whose bundled permit failed (the proxy names the foreign token).
METHODS: dict[str, int] = {"upto": 55, "exact": 25, "upto_permit": 12, "upto_permit_failed": 8}


def _token_event(name: str, *args: object) -> Emit:
    (spec,) = (e for e in load_abi(ERC20)[0] if e.name == name)
    topics, data = encode_event(spec, *args)
    return Emit(LogSpec(FOREIGN_TOKEN, topics, data), f"foreign.{name}")


def foreign_settle(rng: random.Random, ts: int, payer: str, pay_to: str, method: str) -> PlannedTx:
    """One foreign facilitator transaction: the same calls and log order as OpenGradient's settles
    (traffic_base._settle_tx), in FOREIGN_TOKEN to a foreign payTo."""
    facilitator = rng.choice(FOREIGN_FACILITATORS)
    amount = rng.randint(1, 2_000) * 10 ** (FOREIGN_TOKEN_DECIMALS - 2)  # 0.01 to 20 units
    cap = amount if method == "exact" else max(amount, 50 * 10**FOREIGN_TOKEN_DECIMALS)
    deadline, valid_after = ts + 3600, ts - 600
    permit = ((FOREIGN_TOKEN, cap), int.from_bytes(random_word(rng), "big"), deadline)
    sig = rng.randbytes(65)
    settle = settle_call(method, permit, amount, payer, pay_to, facilitator, valid_after, sig,
                         lambda: (MAX_UINT, deadline, random_word(rng), random_word(rng), 27 + rng.randrange(2)))
    emits: list[Emit] = []
    if method == "upto_permit_failed":
        emits.append(event(BASE, UPTO, UPTO_ABI, "EIP2612PermitFailedWithReason", FOREIGN_TOKEN, payer, PERMIT_FAILURE))
    elif settle.done == "SettledWithPermit":
        emits.append(_token_event("Approval", payer, PERMIT2, MAX_UINT))
    emits.append(_token_event("Transfer", payer, pay_to, amount))
    emits.append(event(BASE, settle.proxy, settle.abi_file, settle.done))
    return PlannedTx(ts, facilitator, settle.proxy, settle.data, tuple(emits))


def foreign_traffic(rng: random.Random, base_txs: list[PlannedTx], multiple: int) -> list[PlannedTx]:
    """`multiple` foreign settlements per OpenGradient x402 settlement in base_txs, each at a block
    time OpenGradient's Base traffic already has: they share OpenGradient's blocks (the case that
    costs an indexer reading whole blocks the most) and move none of them, so the ground truth is the
    same with or without them. They carry no facts: nothing of them belongs in an og table."""
    ours = sum(1 for t in base_txs if t.to in (UPTO, EXACT))
    times = sorted({t.ts for t in base_txs})
    if multiple <= 0 or not ours or not times:
        return []
    make = Merchants(rng)
    return [make.settle(rng.choice(times)) for _ in range(multiple * ours)]


class Merchants:
    """The foreign merchants and their payers; settle() plans one of their settlements."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.merchants = [random_address(rng) for _ in range(MERCHANTS)]
        self.payers = {m: [random_address(rng) for _ in range(PAYERS_PER_MERCHANT)] for m in self.merchants}

    def settle(self, ts: int) -> PlannedTx:
        merchant = self.rng.choice(self.merchants)
        method = self.rng.choices(list(METHODS), list(METHODS.values()))[0]
        return foreign_settle(self.rng, ts, self.rng.choice(self.payers[merchant]), merchant, method)
