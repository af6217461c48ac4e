"""Where a chain's history begins: each watched contract's first block with code, found once by bisection.

A watched address has no logs before its code exists, so a backfill or a follower that starts at the
earliest first block of a chain's watched contracts skips nothing it could index. Only contracts
fetched by eth_getLogs count: one read only in the transactions of the others' logs (config
`logs = "transactions"`, the x402 proxies) adds nothing before them. The first block is found by
bisecting eth_getCode over block numbers (about log2(head) calls per contract, 26 on
Base), stored in og.contract_starts, and never searched again. Where it cannot be found the chain
starts where the configuration says (block 0 by default), and the reason is stored and shown:
- no code at the head: a precompile (nodes usually report none for one, such as OpenGradient's
  legacy 0xF4), an account that is not a contract, or a contract not deployed yet (checked again on
  the next start);
- the provider serves no historical state (a pruned, non-archive node refuses eth_getCode at old
  blocks; searched again on the next start, perhaps against another URL).
Caveat: code is assumed to exist from the first block on; a contract destroyed and re-created at the
same address (possible before the Cancun upgrade) would be found at its first creation, never later,
so nothing is skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from . import store
from .config import ChainConfig, Contract
from .rpc import RpcClient, RpcError

log = logging.getLogger("og_indexer.history")

FOUND, CONFIGURED, NO_CODE, NO_HISTORY = "bisection", "configured", "no_code", "no_history"


@dataclass(frozen=True)
class ContractStart:
    """What is known of where one watched address's history begins."""

    address: str
    first_block: int | None  # None: not known (see method and note)
    searched_to: int  # the head the search ran against
    method: str  # FOUND | CONFIGURED | NO_CODE | NO_HISTORY
    note: str
    calls: int = 0  # eth_getCode calls the search made
    searched_at: datetime | None = None


@dataclass(frozen=True)
class HistoryStart:
    """Where a chain's backfill and follower start, and why."""

    chain: str
    block: int
    reason: str
    contracts: tuple[ContractStart, ...]


class NoHistoricalState(RpcError):
    """The provider refused eth_getCode at an old block: it keeps no historical state."""


async def _has_code(rpc: RpcClient, address: str, block: int, *, old: bool = True) -> bool:
    """Whether address has code at block; an old block refused is NoHistoricalState, an error at the
    head stays what it is (the RPC is down, not pruned)."""
    try:
        code = await rpc.call("eth_getCode", [address, hex(block)])
    except RpcError as e:
        if not old:
            raise
        raise NoHistoricalState(f"eth_getCode {address} at block {block}: {e}") from e
    if not isinstance(code, str) or not code.startswith("0x"):
        raise RpcError(f"eth_getCode {address} at block {block} answered {code!r}")
    return len(code) > 2


async def first_code_block(rpc: RpcClient, address: str, lo: int, hi: int) -> tuple[int | None, int]:
    """The first block in [lo, hi] at which address has code (None: none at hi), and the calls made.
    Bisection: code at hi, none assumed before lo; NoHistoricalState when an old block is refused."""
    calls = 1
    if not await _has_code(rpc, address, hi, old=False):
        return None, calls
    below, found = lo - 1, hi  # invariant: no code at `below` (or below lo), code at `found`
    while found - below > 1:
        mid = (below + found) // 2
        calls += 1
        if await _has_code(rpc, address, mid):
            found = mid
        else:
            below = mid
    return found, calls


async def _search(rpc: RpcClient, address: str, lo: int, head: int) -> ContractStart:
    try:
        first, calls = await first_code_block(rpc, address, lo, head)
    except NoHistoricalState as e:
        return ContractStart(address, None, head, NO_HISTORY, f"the provider serves no historical state: {e}"[:500])
    if first is None:
        note = f"no code at block {head}: a precompile, an account without code, or not deployed yet"
        return ContractStart(address, None, head, NO_CODE, note, calls)
    return ContractStart(address, first, head, FOUND, f"first code at block {first}", calls)


async def _known(conn: store.Conn, chain: ChainConfig) -> dict[str, ContractStart]:
    return {
        r["address"]: ContractStart(
            r["address"], r["first_block"], r["searched_to"], r["method"], r["note"], r["calls"], r["searched_at"]
        )
        for r in await store.contract_starts(conn, chain.chain_id)
    }


async def stored(conn: store.Conn, chain: ChainConfig) -> HistoryStart | None:
    """The history start as last resolved (no RPC), or None if it was never searched (`status`)."""
    known = await _known(conn, chain)
    if not known:
        return None
    starts = [
        ContractStart(a, c.start_block, 0, CONFIGURED, "start_block in the configuration")
        if c.start_block > 0
        else known.get(a, ContractStart(a, None, 0, NO_CODE, "not searched yet"))
        for c in chain.contracts
        if c.by_get_logs
        for a in c.addresses
    ]
    return HistoryStart(chain.name, *_chain_start(chain, starts), tuple(starts))


async def resolve(rpc: RpcClient, conn: store.Conn, chain: ChainConfig, head: int) -> HistoryStart:
    """The chain's history start: stored first blocks, searching (and storing) those not known yet."""
    known = await _known(conn, chain)
    starts: list[ContractStart] = []
    for c in chain.contracts:
        if not c.by_get_logs:
            continue
        for a in c.addresses:
            s = known.get(a)
            if c.start_block > 0:
                s = ContractStart(a, c.start_block, head, CONFIGURED, "start_block in the configuration")
            elif s is None or s.first_block is None:
                lo = 0 if s is None or s.method == NO_HISTORY else s.searched_to + 1
                s = await _search(rpc, a, lo, head)
                await store.save_contract_start(
                    conn, chain.chain_id, a, s.first_block, s.searched_to, s.method, s.note, s.calls
                )
                log.info(
                    "history_searched chain=%s address=%s first_block=%s method=%s calls=%d",
                    chain.name, a, s.first_block, s.method, s.calls,
                )
            starts.append(s)
    return HistoryStart(chain.name, *_chain_start(chain, starts), tuple(starts))


def _chain_start(chain: ChainConfig, starts: list[ContractStart]) -> tuple[int, str]:
    unknown = [s for s in starts if s.first_block is None]
    if unknown or not starts:
        why = "; ".join(f"{_name(chain, s.address)} {s.address}: {s.note}" for s in unknown) or "no watched contract"
        return chain.start_block, f"start_block {chain.start_block} of the configuration, as {why}"
    first = min(starts, key=lambda s: s.first_block or 0)
    block = max(chain.start_block, first.first_block or 0)
    how = "configured" if first.method == CONFIGURED else "eth_getCode bisection"
    return block, f"first code of {_name(chain, first.address)} {first.address} ({how})"


def _name(chain: ChainConfig, address: str) -> str:
    c = chain.contract_for(address)
    return c.name if c is not None else "?"


def apply(chain: ChainConfig, start: HistoryStart) -> ChainConfig:
    """The chain as backfill and the follower read it: starting at the history start, each contract's
    addresses asked for from its own first block on."""
    firsts = {s.address: s.first_block for s in start.contracts}

    def contract(c: Contract) -> Contract:
        blocks = [firsts.get(a) for a in c.addresses]
        if not c.by_get_logs or c.start_block > 0 or not blocks or any(b is None for b in blocks):
            return c
        return replace(c, start_block=min(b for b in blocks if b is not None))

    return replace(chain, start_block=start.block, contracts=tuple(contract(c) for c in chain.contracts))


async def begin(rpc: RpcClient, conn: store.Conn, chain: ChainConfig) -> tuple[ChainConfig, HistoryStart]:
    """Resolve the history start against the current head and apply it; with the RPC unreachable, the
    configuration as it is (the follower retries the RPC itself)."""
    try:
        head = await rpc.block_number()
        start = await resolve(rpc, conn, chain, head)
    except RpcError as e:
        log.warning("history_not_searched chain=%s error=%s", chain.name, e)
        return chain, HistoryStart(chain.name, chain.start_block, f"not searched ({e})", ())
    return apply(chain, start), start
