"""Logs read only in our transactions (config `logs = "transactions"`, the x402 proxies): which
transactions ask for them, how the by-block-hash answer is validated, that a block gone from the
chain is read again, and that other people's logs in the same block are never kept."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import orjson
import pytest
from msgspec.structs import replace as with_

from indexer.abi import event_map
from indexer.chain import Block, Log, Tx
from indexer.config import BASE, LOGS_WATCH, OPENGRADIENT, ChainConfig
from indexer.rows import build_rows, tx_logs_reader
from indexer.rpc import BY_BLOCK_HASH, RpcClient, RpcError, UnknownBlock
from indexer.sync import fetch_range

TOKEN, UPTO = (BASE.addresses_with_role(r)[0] for r in ("token", "x402_upto"))
PAYER, OTHER = "0x" + "44" * 20, "0x" + "55" * 20
BLOCK, OTHER_BLOCK, TX, FOREIGN_TX = "0x" + "11" * 32, "0x" + "99" * 32, "0x" + "22" * 32, "0x" + "f0" * 32


def _topic0(chain: ChainConfig, address: str, event: str) -> str:
    contract = chain.contract_for(address)
    assert contract is not None
    return next(t for t, ev in event_map(contract.abi_files).items() if ev.name == event)


def _word(address: str) -> str:
    return "0x" + "0" * 24 + address[2:]


def _log(address: str, topics: tuple[str, ...], log_index: int, block_hash: str = BLOCK, data: bytes = b"",
         tx: str = TX, tx_index: int = 0) -> Log:
    return Log(7, block_hash, tx, tx_index, log_index, address, topics, data)


TRANSFER = _log(TOKEN, (_topic0(BASE, TOKEN, "Transfer"), _word(PAYER), _word(BASE.pay_to[0])), 0,
                data=(5).to_bytes(32, "big"))
SETTLED = _log(UPTO, (_topic0(BASE, UPTO, "Settled"),), 1)
FOREIGN_SETTLED = _log(UPTO, SETTLED.topics, 3, tx=FOREIGN_TX, tx_index=1)  # another merchant's, same block


def test_only_payments_ask_for_the_logs_of_their_transaction() -> None:
    reads = tx_logs_reader(BASE)
    assert reads(TRANSFER)
    assert not reads(with_(TRANSFER, topics=(TRANSFER.topics[0], _word(PAYER), _word(OTHER))))  # not to pay_to
    assert not reads(_log(TOKEN, (_topic0(BASE, TOKEN, "Approval"), _word(PAYER), _word(OTHER)), 0))
    assert not reads(SETTLED)
    assert not reads(_log(TOKEN, ("0x" + "ab" * 32,), 0))  # unknown topic: kept raw, nothing more asked
    watching = replace(BASE, contracts=tuple(replace(c, logs=LOGS_WATCH) for c in BASE.contracts))
    assert not tx_logs_reader(watching)(TRANSFER)  # proxies fetched by eth_getLogs: nothing more to ask
    assert not tx_logs_reader(OPENGRADIENT)(TRANSFER)


def _raw_log(g: Log) -> dict[str, Any]:
    return {
        "blockNumber": hex(g.block_number), "blockHash": g.block_hash, "transactionHash": g.tx_hash,
        "transactionIndex": hex(g.tx_index), "logIndex": hex(g.log_index), "address": g.address,
        "topics": list(g.topics), "data": "0x" + g.data.hex(), "removed": False,
    }


class _Canned(RpcClient):
    """An RPC client whose batch answers are given: each a list of (result or error) per block asked."""

    def __init__(self, *answers: list[dict[str, Any]]) -> None:
        super().__init__(["http://unused"], chain_name="base", retries=0)
        self.answers = list(answers)
        self.asked: list[Any] = []

    async def _send_batch(self, method: str, chunk: Sequence[list[Any]], label: str = "") -> tuple[int, bytes]:
        self.asked.append((method, [p for p in chunk]))
        self.stats.calls[label or method] += len(chunk)
        items = self.answers.pop(0)
        return 0, orjson.dumps([{"jsonrpc": "2.0", "id": k, **item} for k, item in enumerate(items)])


def test_logs_asked_by_block_hash_are_validated_like_a_range() -> None:
    ok = _Canned([{"result": [_raw_log(FOREIGN_SETTLED), _raw_log(SETTLED)]}])
    assert asyncio.run(ok.logs_in_blocks([UPTO], [BLOCK])) == {BLOCK: [SETTLED, FOREIGN_SETTLED]}
    assert ok.asked == [("eth_getLogs", [[{"blockHash": BLOCK, "address": [UPTO]}]])]
    assert ok.stats.calls == Counter({BY_BLOCK_HASH: 1})  # counted apart from eth_getLogs over ranges
    for bad in ([with_(SETTLED, block_hash=OTHER_BLOCK)], [with_(SETTLED, address=TOKEN)], [SETTLED, SETTLED]):
        with pytest.raises(RpcError, match="returned log"):
            asyncio.run(_Canned([{"result": [_raw_log(g) for g in bad]}]).logs_in_blocks([UPTO], [BLOCK]))
    gone = _Canned([{"error": {"code": -32000, "message": "unknown block"}}])
    with pytest.raises(UnknownBlock, match="unknown block"):
        asyncio.run(gone.logs_in_blocks([UPTO], [BLOCK]))


class _Node(RpcClient):
    """An RPC whose first by-hash answer says the block is unknown (it left the chain meanwhile)."""

    def __init__(self) -> None:
        super().__init__(["http://unused"], chain_name="base")
        self.by_hash: list[dict[str, list[Log]] | None] = [None, {BLOCK: [SETTLED, FOREIGN_SETTLED]}]

    async def get_logs(self, addresses: Sequence[str], lo: int, hi: int) -> list[Log]:
        self.stats.calls["eth_getLogs"] += 1
        assert UPTO not in addresses  # the shared proxy is never asked for by address
        return [TRANSFER]

    async def blocks(self, numbers: Iterable[int]) -> dict[int, Block]:
        return {n: Block(n, BLOCK if n == 7 else "0x" + f"{n:064x}", "0x" + f"{n - 1:064x}", 1_700_000_000 + n)
                for n in numbers}

    async def transactions(self, hashes: Iterable[str]) -> dict[str, Tx]:
        return {h: Tx(h, 7, BLOCK, 0, "0x" + "66" * 20, UPTO, b"") for h in hashes}

    async def logs_in_blocks(self, addresses: Sequence[str], block_hashes: Iterable[str]) -> dict[str, list[Log]]:
        self.stats.calls[BY_BLOCK_HASH] += 1
        assert set(block_hashes) == {BLOCK}
        assert list(addresses) == sorted([UPTO, *BASE.addresses_with_role("x402_exact")])
        answer = self.by_hash.pop(0)
        if answer is None:
            raise UnknownBlock(f"eth_getLogs of block {BLOCK}: unknown block")
        return answer


def test_a_block_gone_meanwhile_is_read_again_and_only_our_transactions_logs_are_kept() -> None:
    node = _Node()
    logs, blocks, txs = asyncio.run(fetch_range(node, BASE, 7, 7))
    assert node.stats.calls == Counter({"eth_getLogs": 2, BY_BLOCK_HASH: 2})
    assert logs == [TRANSFER, SETTLED]  # the other merchant's Settled in the same block is not kept
    rows = build_rows(BASE, logs, blocks, txs)
    (payment,) = rows.by_table["payments"]
    assert payment.is_x402 and payment.proxy == UPTO and payment.scheme == "upto"
    (event,) = rows.by_table["x402_events"]
    assert event.event == "Settled" and event.block_hash == BLOCK
