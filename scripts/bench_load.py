"""Generate the backfill benchmark's load: a dense, seeded mix of the real events on two fresh anvil chains.

The mix, by logs: ~60 % Base (x402 settles: OPG Transfer + the proxy's Settled*, a settleWithPermit's
bundled Approval, standalone onboarding approvals, third-party transfers), ~20 % TEE heartbeats,
~10 % relay settlements (batch and individual) and ~10 % legacy inference events whose payloads are
nested tuple[] values (0xF4 LLMChat / LLMCompletionEvent / ModelInferenceEvent with their hub or
workflow echo). Every transaction is what the real contracts send: one settle per x402 transaction,
with the real ABI-encoded call as input; only blocks are dense (about 100 logs per block per chain).

`generate()` is pure and returns the planned blocks and the ground truth (per table: row counts and
sums), which `check()` compares with a database the indexer filled.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from indexer.config import BASE, OPENGRADIENT, ChainConfig
from indexer.devnet.anvil import AnvilNode
from indexer.devnet.anvil_client import AnvilClient as RpcClient
from indexer.devnet.contracts import install_chain
from indexer.devnet.plan import Emit, PlannedTx, call, event
from indexer.devnet.x402 import settle_call
from indexer.roles import Role
from indexer.tables import (
    ApprovalRow,
    BlockRow,
    InferenceRow,
    PaymentRow,
    RawLogRow,
    Row,
    SettlementRow,
    TeeEventRow,
    TeeRow,
    TransactionRow,
    X402EventRow,
)

ERC20 = "OPG_ERC20_Base.json"
REG_ABI = "TEERegistry.json"
RELAY_ABI = "InferenceSettlementRelay.json"
F4_ABI = "InferencePrecompile_0xF4.json"
HUB_ABI = "InferenceHub.json"
WF_ABI = "PriceHistoryInference_workflow.json"

TOKEN = BASE.addresses_with_role(Role.TOKEN)[0]
UPTO = BASE.addresses_with_role(Role.X402_UPTO)[0]
EXACT = BASE.addresses_with_role(Role.X402_EXACT)[0]
PERMIT2 = BASE.addresses_with_role(Role.PERMIT2)[0]
PAY_TO = BASE.pay_to[0]
REGISTRY = OPENGRADIENT.addresses_with_role(Role.TEE_REGISTRY)[0]
RELAY = OPENGRADIENT.addresses_with_role(Role.SETTLEMENT_RELAY)[0]
PRECOMPILE = OPENGRADIENT.addresses_with_role(Role.INFERENCE_PRECOMPILE)[0]
HUB = OPENGRADIENT.addresses_with_role(Role.INFERENCE_HUB)[0]
WORKFLOW = OPENGRADIENT.addresses_with_role(Role.WORKFLOW)[0]

MAX_UINT = 2**256 - 1
SESSION_CAP = 10**17
GENESIS = 1_767_225_600  # 2026-01-01T00:00:00Z, the devnet's default genesis time
LOGS_PER_BLOCK = 100  # per chain, before the share of each chain
TEES = 8
VARIANTS = 48  # distinct pre-encoded payloads per legacy inference style


def _addr(rng: random.Random) -> str:
    return "0x" + rng.randbytes(20).hex()


def _label(name: str) -> str:
    return "0x" + bytes(random.Random(name).randbytes(20)).hex()


FACILITATORS = (_label("facilitator-1"), _label("facilitator-2"))
RELAYER = _label("relayer")
TEE_OWNER = _label("tee-owner")


@dataclass
class ChainLoad:
    """One chain's planned transactions, in block order, and what its tables must hold."""

    chain: ChainConfig
    blocks: list[list[PlannedTx]] = field(default_factory=list)
    expect: dict[type[Row], Counter[str]] = field(default_factory=dict)  # table -> measure (CHECKS) -> value
    # Block index -> other people's transactions mined in that block after the load's own (foreign
    # x402 traffic): not part of the load's logs, transactions or ground truth.
    background: dict[int, list[PlannedTx]] = field(default_factory=dict)

    @property
    def logs(self) -> int:
        return sum(len(t.emits) for b in self.blocks for t in b)

    @property
    def txs(self) -> int:
        return sum(len(b) for b in self.blocks)

    def add(self, table: type[Row], **sums: int) -> None:
        self.expect.setdefault(table, Counter()).update(sums)

    def expected(self, table: type[Row], measure: str) -> int:
        return self.expect.get(table, Counter())[measure]


@dataclass
class Load:
    base: ChainLoad
    og: ChainLoad

    @property
    def chains(self) -> tuple[ChainLoad, ChainLoad]:
        return (self.og, self.base)

    @property
    def logs(self) -> int:
        return self.base.logs + self.og.logs


def _tx(load: ChainLoad, sender: str, to: str, data: bytes, emits: Sequence[Emit]) -> PlannedTx:
    n = len(emits)
    load.add(RawLogRow, rows=n, decoded=n)
    return PlannedTx(0, sender, to, data, tuple(emits))


# --- Base --------------------------------------------------------------------------------------


def _settle(rng: random.Random, load: ChainLoad, method: str) -> PlannedTx:
    """One facilitator transaction settling one x402 session: method upto | upto_permit | exact."""
    payer, amount = _addr(rng), rng.randint(10**14, SESSION_CAP)
    facilitator = rng.choice(FACILITATORS)
    deadline = GENESIS + 10**7
    cap = amount if method == "exact" else SESSION_CAP
    permit = ((TOKEN, cap), rng.getrandbits(256), deadline)
    sig = rng.randbytes(65)
    settle = settle_call(method, permit, amount, payer, PAY_TO, facilitator, GENESIS, sig,
                         lambda: (MAX_UINT, deadline, rng.randbytes(32), rng.randbytes(32), 27))
    emits: list[Emit] = []
    if settle.done == "SettledWithPermit":
        emits.append(event(BASE, TOKEN, ERC20, "Approval", payer, PERMIT2, MAX_UINT))
        load.add(ApprovalRow, rows=1, to_permit2=1, value_raw=MAX_UINT)
    emits.append(event(BASE, TOKEN, ERC20, "Transfer", payer, PAY_TO, amount))
    emits.append(event(BASE, settle.proxy, settle.abi_file, settle.done))
    upto = method != "exact"
    load.add(
        PaymentRow,
        rows=1,
        x402=1,
        amount_raw=amount,
        settle_amount_raw=amount if upto else 0,
        session_cap_raw=cap,
        with_facilitator=1 if upto else 0,
    )
    load.add(X402EventRow, rows=1)
    load.add(TransactionRow, rows=1, with_input=1)
    return _tx(load, facilitator, settle.proxy, settle.data, emits)


def _approve(rng: random.Random, load: ChainLoad) -> PlannedTx:
    owner = _addr(rng)
    load.add(ApprovalRow, rows=1, to_permit2=1, value_raw=MAX_UINT)  # and no transaction row
    emits = [event(BASE, TOKEN, ERC20, "Approval", owner, PERMIT2, MAX_UINT)]
    return _tx(load, owner, TOKEN, call(ERC20, "approve", PERMIT2, MAX_UINT), emits)


def _transfer(rng: random.Random, load: ChainLoad) -> PlannedTx:
    sender, to, amount = _addr(rng), _addr(rng), rng.randint(1, 10**21)  # not to pay_to: no rows but raw_logs
    emits = [event(BASE, TOKEN, ERC20, "Transfer", sender, to, amount)]
    return _tx(load, sender, TOKEN, call(ERC20, "transfer", to, amount), emits)


BASE_MIX: tuple[tuple[str, float], ...] = (
    ("upto", 0.70),
    ("exact", 0.12),
    ("upto_permit", 0.08),
    ("approve", 0.07),
    ("transfer", 0.03),
)


def _base_tx(rng: random.Random, load: ChainLoad) -> PlannedTx:
    kind = rng.choices([k for k, _ in BASE_MIX], [w for _, w in BASE_MIX])[0]
    if kind == "approve":
        return _approve(rng, load)
    if kind == "transfer":
        return _transfer(rng, load)
    return _settle(rng, load, kind)


# --- OpenGradient ------------------------------------------------------------------------------


def _tee_ids() -> list[bytes]:
    rng = random.Random("tees")
    return [rng.randbytes(32) for _ in range(TEES)]


def _registrations(rng: random.Random, load: ChainLoad) -> list[PlannedTx]:
    out = []
    for i, tee_id in enumerate(_tee_ids()):
        data = call(
            REG_ABI, "registerTEEWithAttestation", rng.randbytes(600), rng.randbytes(65), rng.randbytes(300),
            PAY_TO, f"https://tee-{i}.bench.opengradient.ai", i % 2,
        )
        load.add(TeeEventRow, rows=1)
        load.add(TeeRow, rows=1)
        load.add(TransactionRow, rows=1, with_input=1)
        emits = [event(OPENGRADIENT, REGISTRY, REG_ABI, "TEERegistered", tee_id, TEE_OWNER, i % 2)]
        out.append(_tx(load, TEE_OWNER, REGISTRY, data, emits))
    return out


def _heartbeat(rng: random.Random, load: ChainLoad, ts: int) -> PlannedTx:
    tee_id = rng.choice(_TEE_IDS)
    signed = ts - rng.randint(1, 20)
    load.add(TeeEventRow, rows=1, heartbeats=1, heartbeat_timestamp=signed)
    load.add(TeeRow, heartbeats=1)  # no og.transactions row: no heartbeat column reads the transaction
    emits = [event(OPENGRADIENT, REGISTRY, REG_ABI, "HeartbeatReceived", tee_id, signed)]
    return _tx(load, RELAYER, REGISTRY, call(REG_ABI, "heartbeat", tee_id, signed, rng.randbytes(64)), emits)


def _settlement(rng: random.Random, load: ChainLoad, ts: int) -> PlannedTx:
    blob = rng.randbytes(32).hex().encode()
    load.add(TransactionRow, rows=1)
    if rng.random() < 0.1:
        tee_id, inp, out, sig = rng.choice(_TEE_IDS), rng.randbytes(32), rng.randbytes(32), rng.randbytes(65)
        load.add(SettlementRow, rows=1, inferences=1, individual=1)
        data = call(RELAY_ABI, "settleIndividual", tee_id, inp, out, ts, UPTO, blob, sig)
        emits = [event(OPENGRADIENT, RELAY, RELAY_ABI, "IndividualSettlement", tee_id, UPTO, inp, out, ts, blob, sig)]
    else:
        root, size = rng.randbytes(32), rng.randint(1, 20)
        load.add(SettlementRow, rows=1, inferences=size, batch=1)
        data = call(RELAY_ABI, "batchSettle", root, size, blob)
        emits = [event(OPENGRADIENT, RELAY, RELAY_ABI, "BatchSettlement", root, size, blob)]
    return _tx(load, RELAYER, RELAY, data, emits)


def _numbers(rng: random.Random, name: str, n: int) -> tuple[Any, ...]:
    return (name, [(rng.randint(-(10**6), 10**6), rng.randint(0, 6)) for _ in range(n)], [1, n])


Variants = dict[str, list[tuple[str, bytes, tuple[Emit, ...]]]]  # style -> (to, call, emits) each


def _legacy_variants(rng: random.Random) -> Variants:
    """Pre-encoded legacy inferences (target, call, emits) per style: nested tuple[] payloads are
    costly to encode, and a few dozen variants per style are enough for a realistic decode load."""
    out: Variants = {}
    for style in ("hub_chat", "f4_chat", "hub_completion", "hub_onnx", "f4_onnx", "workflow"):
        variants = []
        for v in range(VARIANTS):
            iid, mode = rng.randbytes(16).hex(), rng.randrange(2)
            emits: list[Emit] = []
            # ABI values of the style's request and response structs, its hub event and hub call
            request: tuple[Any, ...]
            response: tuple[Any, ...]
            hub_args: tuple[Any, ...]
            fn_args: tuple[Any, ...]
            if style.endswith("chat"):
                model = f"openai/gpt-4.1-{v % 4}"
                messages: list[tuple[str, str, str, str, list[Any]]] = [
                    ("system", "You are a market analyst.", "", "", []),
                    ("user", f"Summarise the ETH market on day {v}.", "alice", "", []),
                ]
                tools = [("Latest price of a pair", "get_price", '{"pair": "string"}')] if v % 3 == 0 else []
                calls = [("call_" + rng.randbytes(4).hex(), "get_price", '{"pair": "ETH/USDT"}')] if tools else []
                request = (mode, model, messages, tools, "auto" if tools else "", 256, ["\n\n"], 70)
                response = ("tool_calls" if calls else "stop", ("assistant", "ETH traded sideways.", "", "", calls))
                emits.append(event(OPENGRADIENT, PRECOMPILE, F4_ABI, "LLMChat", iid, request, response))
                hub_event, hub_args, fn, fn_args = "LLMChatResult", (response,), "runLLMChat", (request,)
            elif style == "hub_completion":
                request = (mode, f"meta-llama/llama-{v % 3}", "The capital of France is", 16, ["\n"], 0)
                response = (" Paris.",)
                emits.append(event(OPENGRADIENT, PRECOMPILE, F4_ABI, "LLMCompletionEvent", iid, request, response))
                hub_event, hub_args = "LLMCompletionResult", (response,)
                fn, fn_args = "runLLMCompletion", (request,)
            else:
                model = f"QmBenchModel{v % 5}"
                model_input = ([_numbers(rng, "input", rng.randint(2, 6))], [("pair", ["ETH/USDT"])])
                output = (
                    [_numbers(rng, "output", rng.randint(1, 3))],
                    [("label", ["up"])],
                    [("meta", '{"confidence": 0.82}')],
                    False,
                )
                request = (mode, model, model_input)
                emits.append(event(OPENGRADIENT, PRECOMPILE, F4_ABI, "ModelInferenceEvent", iid, request, output))
                hub_event, hub_args = "InferenceResult", (output,)
                fn, fn_args = "runModelInference", ((mode, model, model_input),)
            if style == "workflow":
                emits.append(event(OPENGRADIENT, WORKFLOW, WF_ABI, "InferenceResultEmitted", RELAYER, hub_args[0]))
                variants.append((WORKFLOW, call(WF_ABI, "run"), tuple(emits)))
            elif style.startswith("f4_"):
                variants.append((PRECOMPILE, call(F4_ABI, fn, *fn_args), tuple(emits)))
            else:
                emits.append(event(OPENGRADIENT, HUB, HUB_ABI, hub_event, *hub_args))
                variants.append((HUB, call(HUB_ABI, fn, *fn_args) if style != "hub_onnx" else b"", tuple(emits)))
        out[style] = variants
    return out


LEGACY_STYLES: tuple[tuple[str, float], ...] = (
    ("hub_chat", 0.35),
    ("f4_chat", 0.10),
    ("hub_completion", 0.15),
    ("hub_onnx", 0.20),
    ("f4_onnx", 0.10),
    ("workflow", 0.10),
)
_USERS = tuple(_label(f"legacy-user-{i}") for i in range(5))
_TEE_IDS = _tee_ids()


def _legacy(rng: random.Random, load: ChainLoad, variants: Variants) -> PlannedTx:
    style = rng.choices([s for s, _ in LEGACY_STYLES], [w for _, w in LEGACY_STYLES])[0]
    to, data, emits = rng.choice(variants[style])
    load.add(InferenceRow, rows=1)  # the 0xF4 event; its hub / workflow echo is not counted twice
    load.add(TransactionRow, rows=1)
    return _tx(load, rng.choice(_USERS), to, data, emits)


# OpenGradient transactions by kind, weighted so that logs split 20 : 10 : 10 (legacy txs carry
# about 1.75 logs each).
OG_MIX: tuple[tuple[str, float], ...] = (("heartbeat", 20.0), ("settlement", 10.0), ("legacy", 10.0 / 1.75))


def _fill(load: ChainLoad, n_logs: int, n_blocks: int, make: Callable[[int], PlannedTx]) -> None:
    """Plan transactions until the chain holds n_logs logs, spread evenly over n_blocks blocks."""
    per_block = n_logs / n_blocks
    logs = 0
    for b in range(n_blocks):
        block: list[PlannedTx] = []
        ts = GENESIS + 2 * (b + 1)
        while logs < per_block * (b + 1):
            tx = make(ts)
            block.append(tx)
            logs += len(tx.emits)
        load.blocks.append(block)


def generate(n_logs: int, seed: int) -> Load:
    """Plan about n_logs logs (60 % on Base, 40 % on OpenGradient) over n_logs / 100 blocks per chain."""
    rng = random.Random(seed)
    n_blocks = max(1000, n_logs // LOGS_PER_BLOCK)
    base = ChainLoad(BASE)
    _fill(base, int(n_logs * 0.6), n_blocks, lambda ts: _base_tx(rng, base))
    og = ChainLoad(OPENGRADIENT)
    variants = _legacy_variants(rng)
    first = _registrations(rng, og)
    kinds, weights = [k for k, _ in OG_MIX], [w for _, w in OG_MIX]

    def og_tx(ts: int) -> PlannedTx:
        if first:
            return first.pop(0)
        kind = rng.choices(kinds, weights)[0]
        if kind == "heartbeat":
            return _heartbeat(rng, og, ts)
        if kind == "settlement":
            return _settlement(rng, og, ts)
        return _legacy(rng, og, variants)

    _fill(og, n_logs - int(n_logs * 0.6), n_blocks, og_tx)
    for chain in (base, og):
        chain.add(BlockRow, with_logs=sum(1 for b in chain.blocks if b))
    return Load(base, og)


# --- mining ------------------------------------------------------------------------------------


def mine(node: AnvilNode, load: ChainLoad) -> None:
    """Send each block's transactions as one JSON-RPC batch (explicit nonces), then mine the block;
    verifies that every transaction landed. Order inside a block is not significant to the truth."""
    with RpcClient(node.url, timeout=300.0) as rpc:
        install_chain(rpc)
        nonce: Counter[str] = Counter()
        empty = 0  # empty blocks not mined yet: mined at once (anvil_mine), 2 s apart
        floor = 0  # the time of the last block mined: anvil may stamp a long anvil_mine past the plan

        def mine_empty(upto: int) -> int:
            rpc.call("evm_setNextBlockTimestamp", [max(GENESIS + 2 * (upto - empty + 1), floor + 1)])
            rpc.call("anvil_mine", [hex(empty), "0x2"])
            return int(rpc.call("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

        for b, block in enumerate(load.blocks):
            if not block:
                empty += 1
                continue
            if empty:
                floor = mine_empty(b)
                empty = 0
            batch = []
            for t in [*block, *load.background.get(b, ())]:
                tx = {
                    "from": t.sender, "to": t.to, "data": "0x" + t.input.hex(), "gas": hex(t.gas),
                    "gasPrice": "0x0", "value": "0x0", "nonce": hex(nonce[t.sender]),
                }
                nonce[t.sender] += 1
                batch.append(("eth_sendTransaction", [tx]))
            rpc.batch(batch)
            floor = max(GENESIS + 2 * (b + 1), floor + 1)  # block times are not part of the ground truth
            rpc.call("evm_mine", [floor])
        if empty:
            mine_empty(len(load.blocks))
        # Every planned transaction was sent once: if each block planned to hold some holds that many,
        # none landed elsewhere, and the empty blocks need no look (a million on the sparse shape).
        n = len(load.blocks)
        head = int(rpc.call("eth_blockNumber"), 16)
        if head != n:
            raise RuntimeError(f"{load.chain.name}: the chain ends at block {head}, planned {n}")
        want = {k: len(b) + len(load.background.get(k - 1, ())) for k, b in enumerate(load.blocks, 1)}
        full = [k for k, w in want.items() if w]
        for i in range(0, len(full), 1000):
            nums = full[i:i + 1000]
            counts: list[Any] = rpc.batch([("eth_getBlockTransactionCountByNumber", [hex(k)]) for k in nums])
            for k, c in zip(nums, counts, strict=True):
                if int(c, 16) != want[k]:
                    raise RuntimeError(f"{load.chain.name}: block {k} holds {int(c, 16)} transactions, "
                                       f"planned {want[k]}")




def add_foreign_x402(load: Load, multiple: int, seed: int) -> int:
    """Other merchants' x402 settlements (indexer.devnet.traffic_foreign: same proxies, a USDC-like
    token, their own payTo and facilitators), `multiple` per settlement of the load in each Base
    block, mined in that block; the ground truth does not change. Returns how many were added."""
    from indexer.devnet.traffic_foreign import Merchants

    merchants = Merchants(random.Random(f"{seed}/foreign"))
    added = 0
    for b, block in enumerate(load.base.blocks):
        ours = sum(1 for t in block if t.to in (UPTO, EXACT))
        if ours and multiple > 0:
            load.base.background[b] = [merchants.settle(GENESIS + 2 * (b + 1)) for _ in range(multiple * ours)]
            added += len(load.base.background[b])
    return added


# --- ground truth ------------------------------------------------------------------------------
# What check() measures of each table, composed of the declared names (indexer.tables): a column
# the declarations do not hold fails at import. Each measure is compared with the sums the load
# added under its name; ROWS counts a table's rows.

ROWS = "rows"
Measure = tuple[str, str]  # (name, SQL aggregate over og.<table> t)


def _rows() -> Measure:
    return ROWS, "count(*)"


def _sum(table: type[Row], column: str) -> Measure:
    return column, f"coalesce(sum(t.{table.column(column)}), 0)"


def _present(table: type[Row], column: str, name: str) -> Measure:
    return name, f"count(t.{table.column(column)})"


def _where(table: type[Row], column: str, name: str, equals: str | None = None) -> Measure:
    """Rows whose boolean column is true, or whose column equals a constant."""
    cond = f"t.{table.column(column)}" if equals is None else f"t.{table.column(column)} = '{equals}'"
    return name, f"count(*) filter (where {cond})"


def _with_logs() -> Measure:
    """Blocks holding a raw log, joined on the block's key."""
    on = " and ".join(f"r.{RawLogRow.column(k)} = t.{BlockRow.column(k)}" for k in BlockRow.KEY)
    return "with_logs", f"count(*) filter (where exists (select 1 from og.{RawLogRow.TABLE} r where {on}))"


CHECKS: dict[type[Row], tuple[Measure, ...]] = {
    RawLogRow: (_rows(), _where(RawLogRow, "status", "decoded", equals="decoded")),
    TransactionRow: (_rows(), _present(TransactionRow, "input", "with_input")),
    BlockRow: (_with_logs(),),
    PaymentRow: (
        _rows(), _where(PaymentRow, "is_x402", "x402"), _sum(PaymentRow, "amount_raw"),
        _sum(PaymentRow, "settle_amount_raw"), _sum(PaymentRow, "session_cap_raw"),
        _present(PaymentRow, "facilitator", "with_facilitator"),
    ),
    ApprovalRow: (_rows(), _where(ApprovalRow, "to_permit2", "to_permit2"), _sum(ApprovalRow, "value_raw")),
    X402EventRow: (_rows(),),
    SettlementRow: (
        _rows(), _sum(SettlementRow, "inferences"), _where(SettlementRow, "kind", "individual", equals="individual"),
        _where(SettlementRow, "kind", "batch", equals="batch"),
    ),
    TeeEventRow: (
        _rows(), _where(TeeEventRow, "event", "heartbeats", equals="HeartbeatReceived"),
        _sum(TeeEventRow, "heartbeat_timestamp"),
    ),
    TeeRow: (_rows(), _sum(TeeRow, "heartbeats")),
    InferenceRow: (_rows(),),
}


def check_sql(table: type[Row]) -> str:
    return f"select {', '.join(f'{sql} as {name}' for name, sql in CHECKS[table])} from og.{table.TABLE} t"


async def check(conn: asyncpg.Connection, load: Load) -> list[str]:
    """Differences between the tables (both chains) and the load's ground truth; empty when equal.
    A sum the load expects that no check measures is a difference too."""
    want: dict[type[Row], Counter[str]] = {}
    for chain in load.chains:
        for table, sums in chain.expect.items():
            want.setdefault(table, Counter()).update(sums)
    problems: list[str] = []
    for table, sums in want.items():
        measured = {name for name, _ in CHECKS.get(table, ())}
        problems += [f"{table.TABLE}.{k}: the load counts it, no check measures it" for k in sums if k not in measured]
    for table in CHECKS:
        rec = await conn.fetchrow(check_sql(table))
        assert rec is not None
        expected = want.get(table, Counter())
        for k, v in rec.items():
            if int(v or 0) != expected[k]:
                problems.append(f"{table.TABLE}.{k}: tables hold {int(v or 0)}, the load has {expected[k]}")
    return problems
