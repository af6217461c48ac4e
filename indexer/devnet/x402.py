"""x402 settle calls as a facilitator sends them: one shape for OpenGradient's sessions, other
merchants' and the benchmark's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from indexer.devnet.actors import EXACT, UPTO
from indexer.devnet.plan import call

UPTO_ABI = "x402UptoPermit2Proxy.json"
EXACT_ABI = "x402ExactPermit2Proxy.json"


@dataclass(frozen=True)
class SettleCall:
    proxy: str
    abi_file: str
    done: str  # the proxy's event when it settles: Settled | SettledWithPermit
    data: bytes  # the transaction's input


def settle_call(
    method: str,
    permit: tuple[Any, ...],
    amount: int,
    payer: str,
    pay_to: str,
    facilitator: str,
    valid_after: int,
    sig: bytes,
    permit2612: Callable[[], tuple[Any, ...]],
) -> SettleCall:
    """The call settling one session through its proxy. method: exact | upto | upto_permit… (a
    settleWithPermit, whose EIP-2612 permit `permit2612` draws only then, so that a caller's random
    stream is read in the same order whatever the method)."""
    if method == "exact":
        data = call(EXACT_ABI, "settle", permit, payer, (pay_to, valid_after), sig)
        return SettleCall(EXACT, EXACT_ABI, "Settled", data)
    witness = (pay_to, facilitator, valid_after)
    if method == "upto":
        return SettleCall(UPTO, UPTO_ABI, "Settled", call(UPTO_ABI, "settle", permit, amount, payer, witness, sig))
    data = call(UPTO_ABI, "settleWithPermit", permit2612(), permit, amount, payer, witness, sig)
    return SettleCall(UPTO, UPTO_ABI, "SettledWithPermit", data)
