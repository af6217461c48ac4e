"""Planned transactions (call + logs + ground-truth facts) and mining them into blocks on anvil."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from eth_abi.abi import encode as abi_encode

from indexer.abi import EventSpec, FunctionSpec, load_abi
from indexer.config import ChainConfig
from indexer.devnet.emitter import LogSpec, with_logs
from indexer.devnet.errors import DevnetError
from indexer.devnet.records import Fact

if TYPE_CHECKING:  # web3 is imported only by what talks to a node
    from indexer.devnet.anvil_client import AnvilClient


@dataclass(frozen=True)
class Emit:
    """A log and its ground-truth counter key (`role.Event`, or `anomaly.<kind>`)."""

    log: LogSpec
    key: str


@dataclass
class PlannedTx:
    ts: int
    sender: str
    to: str
    call: bytes
    emits: tuple[Emit, ...]
    facts: list[Fact] = field(default_factory=list)

    @cached_property
    def input(self) -> bytes:
        """The transaction input: the real call, then the emitter's log trailer."""
        return with_logs(self.call, [e.log for e in self.emits])

    @property
    def gas(self) -> int:
        return 100_000 + 40 * len(self.input) + 30_000 * len(self.emits)


def event(chain: ChainConfig, address: str, abi_file: str, name: str, *args: Any,
          arity: int | None = None) -> Emit:
    """Encode event `name` of abi_file as emitted by address; its key names the address's role."""
    contract = chain.contract_for(address)
    if contract is None:
        raise DevnetError(f"{address} is not a configured contract on {chain.name}")
    spec = _pick(abi_file, "event", name, arity, load_abi(abi_file)[0])
    topics, data = encode_event(spec, *args)
    return Emit(LogSpec(address.lower(), topics, data), f"{contract.role}.{name}")


def call(abi_file: str, name: str, *args: Any, arity: int | None = None) -> bytes:
    """Calldata of function `name` of abi_file: selector, then the ABI-encoded positional args."""
    spec = _pick(abi_file, "function", name, arity, load_abi(abi_file)[1])
    if len(args) != len(spec.params):
        raise DevnetError(f"{spec.signature}: expected {len(spec.params)} args, got {len(args)}")
    return bytes.fromhex(spec.selector[2:]) + abi_encode([p.type for p in spec.params], list(args))


def encode_event(spec: EventSpec, *args: Any) -> tuple[tuple[bytes, ...], bytes]:
    """Topics (topic0 first) and data of one log of `spec`, positional args in ABI order."""
    if len(args) != len(spec.params):
        raise DevnetError(f"{spec.signature}: expected {len(spec.params)} args, got {len(args)}")
    topics = [bytes.fromhex(spec.topic0[2:])]
    for p, value in zip(spec.params, args, strict=True):
        if p.indexed and (p.type in ("string", "bytes") or p.type.endswith("]") or p.components):
            # The topic would be a hash of the value; no event the devnet emits indexes one.
            raise DevnetError(f"{spec.signature}: indexed {p.type} {p.name!r} is not supported")
        if p.indexed:
            topics.append(abi_encode([p.type], [value]))
    data = [(p.type, v) for p, v in zip(spec.params, args, strict=True) if not p.indexed]
    return tuple(topics), abi_encode([t for t, _ in data], [v for _, v in data])


_Spec = TypeVar("_Spec", EventSpec, FunctionSpec)


def _pick(file: str, kind: str, name: str, arity: int | None, items: Sequence[_Spec]) -> _Spec:
    found = [i for i in items if i.name == name and (arity is None or len(i.params) == arity)]
    if len(found) != 1:
        raise DevnetError(f"{file}: {len(found)} {kind}s named {name!r} (arity {arity})")
    return found[0]


@dataclass(frozen=True)
class Mined:
    """Where a plan landed: block number per block timestamp, and the chain's counts."""

    block_of: dict[int, int]
    first_block: int
    last_block: int
    txs: int
    logs: int

    def stamp(self, txs: Sequence[PlannedTx]) -> list[Fact]:
        """The plan's facts with their real block numbers, in chain order."""
        ordered = sorted(txs, key=lambda t: t.ts)
        return [dataclasses.replace(f, block=self.block_of[t.ts]) for t in ordered for f in t.facts]


def _h(n: int) -> str:
    return hex(n)


def dry_run(txs: Sequence[PlannedTx], extra_times: Sequence[int] = (), head: int = 0) -> Mined:
    """Where mine_plan would put the plan on a chain whose head is block `head` (no I/O)."""
    times = sorted({t.ts for t in txs} | set(extra_times))
    block_of = {ts: head + i for i, ts in enumerate(times, start=1)}
    return Mined(block_of, head + 1, head + len(times), len(txs), sum(len(t.emits) for t in txs))


def mine_plan(rpc: AnvilClient, txs: Sequence[PlannedTx], extra_times: Sequence[int] = (),
              background: Sequence[PlannedTx] = ()) -> Mined:
    """Send every tx (in order, explicit nonces) and mine one block per distinct timestamp.

    Transactions are sent one by one: anvil runs the calls of a JSON-RPC batch concurrently, which
    would make the order inside a block nondeterministic. `background` transactions (other people's
    traffic) go into blocks the plan already has, after the plan's own, so no block number or log
    index of the plan moves; the Mined counts are the plan's alone. Raises DevnetError when the chain
    is not empty-enough (time must move forward) or when the logs read back differ from the plan.
    """
    ordered = sorted(txs, key=lambda t: t.ts)  # stable: generation order within a block
    times = sorted({t.ts for t in ordered} | set(extra_times))
    if not times:
        raise DevnetError("nothing to mine")
    stray = {t.ts for t in background} - set(times)
    if stray:
        raise DevnetError(f"background transactions at {len(stray)} block time(s) the plan does not have")
    head = int(rpc.call("eth_blockNumber"), 16)
    head_ts = int(rpc.call("eth_getBlockByNumber", [_h(head), False])["timestamp"], 16)
    if times[0] <= head_ts and head == 0:
        raise DevnetError(
            f"{rpc.url}: the node's genesis time {head_ts} is not before the first simulated "
            f"block ({times[0]}): choose a later start, or start anvil with an earlier --timestamp"
        )
    if times[0] <= head_ts:
        raise DevnetError(
            f"{rpc.url}: head block {head} is at {head_ts}, not before the first simulated block "
            f"({times[0]}); reset the node (`devnet down && devnet up`, or simulate --reset)"
        )
    every = [*ordered, *sorted(background, key=lambda t: t.ts)]
    senders = sorted({t.sender for t in every})
    counts = rpc.batch([("eth_getTransactionCount", [s, "pending"]) for s in senders])
    nonce = {s: int(c, 16) for s, c in zip(senders, counts, strict=True)}
    by_time: dict[int, list[PlannedTx]] = {}
    for t in every:
        by_time.setdefault(t.ts, []).append(t)
    mined = dry_run(ordered, extra_times, head)
    for ts in times:
        for t in by_time.get(ts, ()):
            tx = {"from": t.sender, "to": t.to, "data": "0x" + t.input.hex(), "gas": _h(t.gas),
                  "gasPrice": "0x0", "value": "0x0", "nonce": _h(nonce[t.sender])}
            try:
                rpc.call("eth_sendTransaction", [tx])
            except DevnetError as e:
                raise DevnetError(f"{rpc.url}: tx at {ts} from {t.sender} to {t.to}: {e}") from e
            nonce[t.sender] += 1
        rpc.call("evm_mine", [ts])
    _verify(rpc, mined, every, times)
    return mined


def _verify(rpc: AnvilClient, mined: Mined, txs: Sequence[PlannedTx], times: Sequence[int]) -> None:
    last = int(rpc.call("eth_blockNumber"), 16)
    if last != mined.last_block:
        raise DevnetError(f"{rpc.url}: head is {last} after mining, expected {mined.last_block}")
    want = Counter((e.log.address, e.log.topics[0].hex() if e.log.topics else "")
                   for t in txs for e in t.emits)
    got: Counter[tuple[str, str]] = Counter()
    step = 2000
    ranges = [(lo, min(lo + step - 1, mined.last_block))
              for lo in range(mined.first_block, mined.last_block + 1, step)]
    replies = rpc.batch([("eth_getLogs", [{"fromBlock": _h(lo), "toBlock": _h(hi)}])
                         for lo, hi in ranges])
    for logs in replies:
        for log in logs:
            topic0 = log["topics"][0].removeprefix("0x") if log["topics"] else ""
            got[(log["address"].lower(), topic0)] += 1
    if got != want:
        diff = (want - got) + (got - want)
        raise DevnetError(f"{rpc.url}: logs on chain differ from the plan: {dict(diff)}")
    blocks = rpc.batch([("eth_getBlockByNumber", [_h(n), False])
                        for n in (mined.first_block, mined.last_block)])
    if int(blocks[0]["timestamp"], 16) != times[0] or int(blocks[1]["timestamp"], 16) != times[-1]:
        raise DevnetError(f"{rpc.url}: block timestamps differ from the plan")
