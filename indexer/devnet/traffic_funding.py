"""Base funding flows: where each payer's OPG comes from before its first payment, and its truth."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass

from indexer.config import BASE
from indexer.devnet.actors import (
    BRIDGE_RELAYER,
    DEX_POOL,
    DISPERSER,
    DISPERSER_OWNER,
    FAUCET,
    FUNDING_CONTRACTS,
    FUNDING_INSIDERS,
    FUNDING_MARKETS,
    PAY_TO,
    TOKEN,
    TREASURY,
    random_address,
)
from indexer.devnet.demand import Session
from indexer.devnet.plan import Mined, PlannedTx, call, event
from indexer.devnet.records import FundingActors, PayerFunding, TokenTransfer, iso
from indexer.devnet.truth import GroundTruth

ERC20 = "OPG_ERC20_Base.json"
ZERO = "0x" + "0" * 40
WEI = 10**18
# Every flow once (payers in first-payment order), then drawn by weight; one payer recycles payTo money.
FIRST_FLOWS = ("treasury", "market", "bridge", "two_hop", "contract", "three_hop", "mixed", "faucet", "unfunded")
WEIGHTS = {"treasury": 15, "faucet": 10, "market": 25, "bridge": 15, "two_hop": 10, "contract": 5,
           "three_hop": 5, "mixed": 3, "unfunded": 12}
SOURCES = {TREASURY: "insider", FAUCET: "insider", PAY_TO: "insider", DEX_POOL: "market",
           ZERO: "bridge_or_mint"}
ACTORS = FundingActors(insiders=FUNDING_INSIDERS, markets=FUNDING_MARKETS, bridges=(),
                       contracts=tuple(sorted(set(FUNDING_CONTRACTS) - set(FUNDING_MARKETS))))


def _send(ts: int, frm: str, to: str, amount: int) -> PlannedTx:
    """One OPG Transfer frm -> to: sent by frm itself, by the pool's or disperser's caller through
    the contract, or by the bridge relayer (a mint)."""
    emit = event(BASE, TOKEN, ERC20, "Transfer", frm, to, amount)
    if frm == ZERO:
        return PlannedTx(ts, BRIDGE_RELAYER, TOKEN, b"", (emit,))
    if frm == DEX_POOL:  # a swap: the buyer calls the pool, which pays out
        return PlannedTx(ts, to, DEX_POOL, b"", (emit,))
    if frm == DISPERSER:
        return PlannedTx(ts, DISPERSER_OWNER, DISPERSER, b"", (emit,))
    return PlannedTx(ts, frm, TOKEN, call(ERC20, "transfer", to, amount), (emit,))


@dataclass(frozen=True)
class _Flow:
    hops: tuple[tuple[str, str], ...]  # (from, to) transfers in time order; the last ones reach the payer
    funding: PayerFunding


def _flow(rng: random.Random, name: str, payer: str) -> _Flow:
    """The transfers of one flow and the trace's expected answer for it."""

    def direct(source: str, n: int = 1) -> _Flow:
        cls = SOURCES.get(source, "contract")
        return _Flow(((source, payer),) * n, PayerFunding(name, cls, cls, source, cls, 1, source, "", n, 0))

    if name == "treasury":
        return direct(TREASURY)
    if name == "faucet":
        return direct(FAUCET)
    if name == "market":
        return direct(DEX_POOL, rng.randint(1, 2))
    if name == "bridge":
        return direct(ZERO)
    if name == "contract":
        return direct(DISPERSER)
    if name == "recycled":
        return direct(PAY_TO)
    wallet = random_address(rng)
    if name == "two_hop":
        source = rng.choice((TREASURY, ZERO, DEX_POOL))
        cls = SOURCES[source]
        return _Flow(((source, wallet), (wallet, payer)),
                     PayerFunding(name, cls, cls, wallet, "eoa", 2, source, "", 1, 0))
    if name == "three_hop":  # an insider two wallets away: beyond what the trace follows
        first = random_address(rng)
        return _Flow(((TREASURY, first), (first, wallet), (wallet, payer)),
                     PayerFunding(name, "insider", "eoa", wallet, "eoa", 1, wallet, "", 1, 0))
    if name == "mixed":  # bought on the market, then topped up by the faucet
        return _Flow(((DEX_POOL, payer), (FAUCET, payer)),
                     PayerFunding(name, "insider", "insider", DEX_POOL, "market", 1, FAUCET, "", 2, 0))
    assert name == "unfunded", name  # funded before the simulated window: nothing to trace
    return _Flow((), PayerFunding(name, "unknown", "unknown", None, None, None, None, "0", 0, 0))


def funding_traffic(rng: random.Random, start: int, sessions: Sequence[Session]
                    ) -> tuple[list[PlannedTx], dict[str, PayerFunding]]:
    """Funding transactions for every payer (each before its first payment) and the expected trace.
    Drawn from their own random stream: the rest of the Base traffic is the same with or without."""
    first_pay: dict[str, int] = {}
    count: dict[str, int] = {}
    cohort: dict[str, str] = {}
    for s in sessions:
        first_pay.setdefault(s.payer, s.pay_ts)
        count[s.payer] = count.get(s.payer, 0) + 1
        cohort[s.payer] = s.cohort
    payers = sorted(first_pay, key=lambda p: (first_pay[p], p))
    # The recycling loop: an ordinary returning payer (not one of the busy app wallets).
    recycler = next((p for p in payers if count[p] >= 2 and cohort[p] == "regular"), None)
    txs: list[PlannedTx] = []
    expected: dict[str, PayerFunding] = {}
    drawn = 0
    for payer in payers:
        if payer == recycler:
            name = "recycled"
        elif drawn < len(FIRST_FLOWS):
            name = FIRST_FLOWS[drawn]
            drawn += 1
        else:
            name = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        flow = _flow(rng, name, payer)
        # Transfers a few minutes apart, the last one at least two minutes before the first payment.
        ts = first_pay[payer] - rng.randint(2, 15) * 60
        times = [ts]
        for _ in flow.hops[1:]:
            times.insert(0, times[0] - rng.randint(1, 15) * 60)
        # First payments come at least an hour into the window (demand.sessions): room for 3 hops.
        assert not flow.hops or times[0] >= start, (payer, times)
        funded = 0
        for (frm, to), t in zip(flow.hops, times, strict=False):
            value = rng.randint(5, 200) * WEI // 10
            txs.append(_send(t, frm, to, value))
            funded += value if to == payer else 0
        f = flow.funding
        expected[payer] = dataclasses.replace(
            f, funded_amount_raw=str(funded),
            recycled_payments=count[payer] if name == "recycled" else 0)
    return txs, expected


def token_transfers(txs: Sequence[PlannedTx], mined: Mined) -> tuple[TokenTransfer, ...]:
    """Every decodable OPG Transfer the plan emitted, in chain order (anomalies are not Transfers)."""
    out = []
    for t in sorted(txs, key=lambda t: t.ts):
        for e in t.emits:
            if e.key != "token.Transfer":
                continue
            frm, to = "0x" + e.log.topics[1][-20:].hex(), "0x" + e.log.topics[2][-20:].hex()
            kind = "mint" if frm == ZERO else "burn" if to == ZERO else "transfer"
            out.append(TokenTransfer(iso(t.ts), mined.block_of[t.ts], e.log.address, frm, to,
                                     str(int.from_bytes(e.log.data, "big")), kind))
    return tuple(out)


def with_funding(truth: GroundTruth, txs: Sequence[PlannedTx], mined: Mined,
                 expected: dict[str, PayerFunding]) -> GroundTruth:
    """The truth with the funding fields filled in."""
    return dataclasses.replace(truth, token_transfers=token_transfers(txs, mined),
                               funding=dict(sorted(expected.items())), funding_actors=ACTORS)
