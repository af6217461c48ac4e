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

ERC20 = "OPG_ERC20_Base.json"
UPTO_ABI = "x402UptoPermit2Proxy.json"
EXACT_ABI = "x402ExactPermit2Proxy.json"
REG_ABI = "TEERegistry.json"
RELAY_ABI = "InferenceSettlementRelay.json"
F4_ABI = "InferencePrecompile_0xF4.json"
HUB_ABI = "InferenceHub.json"
WF_ABI = "PriceHistoryInference_workflow.json"

TOKEN = BASE.addresses_with_role("token")[0]
UPTO = BASE.addresses_with_role("x402_upto")[0]
EXACT = BASE.addresses_with_role("x402_exact")[0]
PERMIT2 = BASE.addresses_with_role("permit2")[0]
PAY_TO = BASE.pay_to[0]
REGISTRY = OPENGRADIENT.addresses_with_role("tee_registry")[0]
RELAY = OPENGRADIENT.addresses_with_role("settlement_relay")[0]
PRECOMPILE = OPENGRADIENT.addresses_with_role("inference_precompile")[0]
HUB = OPENGRADIENT.addresses_with_role("inference_hub")[0]
WORKFLOW = OPENGRADIENT.addresses_with_role("workflow")[0]

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
    expect: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def logs(self) -> int:
        return sum(len(t.emits) for b in self.blocks for t in b)

    @property
    def txs(self) -> int:
        return sum(len(b) for b in self.blocks)

    def add(self, table: str, **sums: int) -> None:
        self.expect.setdefault(table, Counter()).update(sums)


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
    load.add("raw_logs", rows=n, decoded=n)
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
    emits: list[Emit] = []
    if method == "exact":
        proxy, abi_file, done = EXACT, EXACT_ABI, "Settled"
        data = call(EXACT_ABI, "settle", permit, payer, (PAY_TO, GENESIS), sig)
    else:
        proxy, abi_file = UPTO, UPTO_ABI
        witness = (PAY_TO, facilitator, GENESIS)
        if method == "upto":
            done = "Settled"
            data = call(UPTO_ABI, "settle", permit, amount, payer, witness, sig)
        else:
            done = "SettledWithPermit"
            p2612 = (MAX_UINT, deadline, rng.randbytes(32), rng.randbytes(32), 27)
            data = call(UPTO_ABI, "settleWithPermit", p2612, permit, amount, payer, witness, sig)
            emits.append(event(BASE, TOKEN, ERC20, "Approval", payer, PERMIT2, MAX_UINT))
            load.add("approvals", rows=1, to_permit2=1, value_raw=MAX_UINT)
    emits.append(event(BASE, TOKEN, ERC20, "Transfer", payer, PAY_TO, amount))
    emits.append(event(BASE, proxy, abi_file, done))
    upto = method != "exact"
    load.add(
        "payments",
        rows=1,
        x402=1,
        amount_raw=amount,
        settle_amount_raw=amount if upto else 0,
        session_cap_raw=cap,
        with_facilitator=1 if upto else 0,
    )
    load.add("x402_events", rows=1)
    load.add("transactions", rows=1, with_input=1)
    return _tx(load, facilitator, proxy, data, emits)


def _approve(rng: random.Random, load: ChainLoad) -> PlannedTx:
    owner = _addr(rng)
    load.add("approvals", rows=1, to_permit2=1, value_raw=MAX_UINT)  # and no transaction row
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
        load.add("tee_events", rows=1)
        load.add("tees", rows=1)
        load.add("transactions", rows=1, with_input=1)
        emits = [event(OPENGRADIENT, REGISTRY, REG_ABI, "TEERegistered", tee_id, TEE_OWNER, i % 2)]
        out.append(_tx(load, TEE_OWNER, REGISTRY, data, emits))
    return out


def _heartbeat(rng: random.Random, load: ChainLoad, ts: int) -> PlannedTx:
    tee_id = rng.choice(_TEE_IDS)
    signed = ts - rng.randint(1, 20)
    load.add("tee_events", rows=1, heartbeats=1, heartbeat_timestamp=signed)
    load.add("tees", heartbeats=1)  # no og.transactions row: no heartbeat column reads the transaction
    emits = [event(OPENGRADIENT, REGISTRY, REG_ABI, "HeartbeatReceived", tee_id, signed)]
    return _tx(load, RELAYER, REGISTRY, call(REG_ABI, "heartbeat", tee_id, signed, rng.randbytes(64)), emits)


def _settlement(rng: random.Random, load: ChainLoad, ts: int) -> PlannedTx:
    blob = rng.randbytes(32).hex().encode()
    load.add("transactions", rows=1)
    if rng.random() < 0.1:
        tee_id, inp, out, sig = rng.choice(_TEE_IDS), rng.randbytes(32), rng.randbytes(32), rng.randbytes(65)
        load.add("settlements", rows=1, inferences=1, individual=1)
        data = call(RELAY_ABI, "settleIndividual", tee_id, inp, out, ts, UPTO, blob, sig)
        emits = [event(OPENGRADIENT, RELAY, RELAY_ABI, "IndividualSettlement", tee_id, UPTO, inp, out, ts, blob, sig)]
    else:
        root, size = rng.randbytes(32), rng.randint(1, 20)
        load.add("settlements", rows=1, inferences=size, batch=1)
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
            if style.endswith("chat"):
                model = f"openai/gpt-4.1-{v % 4}"
                messages = [
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
    load.add("inferences", rows=1)  # the 0xF4 event; its hub / workflow echo is not counted twice
    load.add("transactions", rows=1)
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
        chain.add("blocks", with_logs=sum(1 for b in chain.blocks if b))
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
            for t in block:
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
        full = [k for k, b in enumerate(load.blocks, 1) if b]
        for i in range(0, len(full), 1000):
            nums = full[i:i + 1000]
            counts: list[Any] = rpc.batch([("eth_getBlockTransactionCountByNumber", [hex(k)]) for k in nums])
            for k, c in zip(nums, counts, strict=True):
                if int(c, 16) != len(load.blocks[k - 1]):
                    raise RuntimeError(f"{load.chain.name}: block {k} holds {int(c, 16)} transactions, "
                                       f"planned {len(load.blocks[k - 1])}")




# --- ground truth ------------------------------------------------------------------------------

CHECKS: dict[str, str] = {
    "raw_logs": "select count(*) as rows, count(*) filter (where status = 'decoded') as decoded from og.raw_logs",
    "transactions": "select count(*) as rows, count(input) as with_input from og.transactions",
    "blocks": "select count(*) filter (where exists (select 1 from og.raw_logs r where r.chain_id = b.chain_id"
    " and r.block_number = b.block_number)) as with_logs from og.blocks b",
    "payments": "select count(*) as rows, count(*) filter (where is_x402) as x402, sum(amount_raw) as amount_raw,"
    " coalesce(sum(settle_amount_raw), 0) as settle_amount_raw, sum(session_cap_raw) as session_cap_raw,"
    " count(facilitator) as with_facilitator from og.payments",
    "approvals": "select count(*) as rows, count(*) filter (where to_permit2) as to_permit2,"
    " sum(value_raw) as value_raw from og.approvals",
    "x402_events": "select count(*) as rows from og.x402_events",
    "settlements": "select count(*) as rows, sum(inferences) as inferences,"
    " count(*) filter (where kind = 'individual') as individual, count(*) filter (where kind = 'batch') as batch"
    " from og.settlements",
    "tee_events": "select count(*) as rows, count(*) filter (where event = 'HeartbeatReceived') as heartbeats,"
    " coalesce(sum(heartbeat_timestamp), 0) as heartbeat_timestamp from og.tee_events",
    "tees": "select count(*) as rows, sum(heartbeats) as heartbeats from og.tees",
    "inferences": "select count(*) as rows from og.inferences",
}


async def check(conn: asyncpg.Connection, load: Load) -> list[str]:
    """Differences between the tables (both chains) and the load's ground truth; empty when equal."""
    want: dict[str, Counter[str]] = {}
    for chain in load.chains:
        for table, sums in chain.expect.items():
            want.setdefault(table, Counter()).update(sums)
    problems: list[str] = []
    for table, sql in CHECKS.items():
        rec = await conn.fetchrow(sql)
        assert rec is not None
        got = {k: int(v or 0) for k, v in rec.items()}
        expected = want.get(table, Counter())
        for k, v in got.items():
            if v != expected[k]:
                problems.append(f"{table}.{k}: tables hold {v}, the load has {expected[k]}")
    return problems
