"""The benchmark's other load shapes: dense payload-heavy blocks, and long sparse ranges.

- dense-payload: 2,000 blocks per chain, 50 logs per block in all: on Base 40 OPG transfers between
  strangers per block (80 % of the logs; raw logs only), on OpenGradient 10 legacy 0xF4
  `LLMCompletionEvent`s per block with ~1.7 kB of nested-tuple data each (20 %; inference and
  transaction rows). Transfers are emitted 10 to a transaction: no row reads their transaction.
- sparse: 1M blocks per chain by default, empty (mined with anvil_mine, on nodes that keep no
  historical state: anvil.NO_HISTORY_ARGS) but for one log every `gap` blocks on each chain (a
  heartbeat on OpenGradient, a transfer on Base): 500 logs per chain at the default gap of 2,000.

Both return a bench_load.Load (planned blocks and ground truth) that bench_load.mine mines and
bench_load.check compares.
"""

from __future__ import annotations

import random

from indexer.config import BASE, OPENGRADIENT
from indexer.devnet.plan import PlannedTx, call, event
from indexer.tables import BlockRow, InferenceRow, TransactionRow
from scripts.bench_load import (
    ERC20,
    F4_ABI,
    PRECOMPILE,
    TOKEN,
    ChainLoad,
    Load,
    _addr,
    _heartbeat,
    _registrations,
    _tx,
)

DENSE_BLOCKS = 2000
SPARSE_BLOCKS = 1_000_000
SPARSE_GAP = 2000  # blocks per log: under one log per 1,000 blocks
TRANSFERS_PER_BLOCK = 40
TRANSFERS_PER_TX = 10
COMPLETIONS_PER_BLOCK = 10


def _transfers(rng: random.Random, load: ChainLoad, n: int, sender: str | None = None) -> PlannedTx:
    sender = sender or _addr(rng)
    emits = [event(BASE, TOKEN, ERC20, "Transfer", sender, _addr(rng), rng.randint(1, 10**21)) for _ in range(n)]
    return _tx(load, sender, TOKEN, call(ERC20, "transfer", _addr(rng), 1), emits)


def _completion(rng: random.Random, load: ChainLoad, user: str) -> PlannedTx:
    """A legacy completion whose event carries ~1.7 kB: a long prompt and answer in nested tuples."""
    words = ("price", "market", "volume", "trend", "ETH", "BTC", "support", "resistance", "daily", "close")
    prompt = " ".join(rng.choice(words) for _ in range(110))[:700]
    answer = " ".join(rng.choice(words) for _ in range(70))[:400]
    request = (rng.randrange(2), f"meta-llama/llama-{rng.randrange(3)}", prompt, 256, ["\n"], 70)
    emits = [event(OPENGRADIENT, PRECOMPILE, F4_ABI, "LLMCompletionEvent", rng.randbytes(16).hex(), request, (answer,))]
    load.add(InferenceRow, rows=1)
    load.add(TransactionRow, rows=1)
    return _tx(load, user, PRECOMPILE, call(F4_ABI, "runLLMCompletion", request), emits)


def dense_payload(seed: int, blocks: int = DENSE_BLOCKS) -> Load:
    rng = random.Random(seed)
    base, og = ChainLoad(BASE), ChainLoad(OPENGRADIENT)
    users = [_addr(rng) for _ in range(20)]
    for _ in range(blocks):
        txs = TRANSFERS_PER_BLOCK // TRANSFERS_PER_TX
        base.blocks.append([_transfers(rng, base, TRANSFERS_PER_TX) for _ in range(txs)])
        og.blocks.append([_completion(rng, og, rng.choice(users)) for _ in range(COMPLETIONS_PER_BLOCK)])
    for chain in (base, og):
        chain.add(BlockRow, with_logs=blocks)
    return Load(base, og)


def sparse(seed: int, blocks: int = SPARSE_BLOCKS, gap: int = SPARSE_GAP) -> Load:
    """`blocks` blocks per chain with a log every `gap` blocks (TEE registrations open OpenGradient)."""
    rng = random.Random(seed)
    base, og = ChainLoad(BASE), ChainLoad(OPENGRADIENT)
    og.blocks.append(_registrations(rng, og))
    base.blocks.append([])
    empty: list[PlannedTx] = []  # one list for every empty block: never appended to
    # A few senders: anvil's work per block grows with the accounts in its state (a new sender per
    # transfer took Base from 18k to 6k blocks/s over 150k blocks; 8 senders keep it steady).
    senders = [_addr(rng) for _ in range(8)]
    for b in range(1, blocks):
        if b % gap:
            og.blocks.append(empty)
            base.blocks.append(empty)
            continue
        og.blocks.append([_heartbeat(rng, og, 1_767_225_600 + 2 * (b + 1))])
        base.blocks.append([_transfers(rng, base, 1, rng.choice(senders))])
    for chain in (base, og):
        chain.add(BlockRow, with_logs=sum(1 for b in chain.blocks if b))
    return Load(base, og)
