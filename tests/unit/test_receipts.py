"""Logs taken from receipts (config `logs = "receipts"`, the x402 proxies): which transactions'
receipts are fetched, how an answer is validated, and that one from another block is fetched again."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import pytest
from msgspec.structs import replace as with_

from indexer.abi import event_map
from indexer.chain import Block, Log, Receipt, Tx
from indexer.config import BASE, LOGS_WATCH, OPENGRADIENT, ChainConfig
from indexer.rows import build_rows, receipt_reader
from indexer.rpc import RetryableError, RpcClient, parse_receipt
from indexer.sync import fetch_range

TOKEN, UPTO = (BASE.addresses_with_role(r)[0] for r in ("token", "x402_upto"))
PAYER, OTHER = "0x" + "44" * 20, "0x" + "55" * 20
BLOCK, OTHER_BLOCK, TX = "0x" + "11" * 32, "0x" + "99" * 32, "0x" + "22" * 32


def _topic0(chain: ChainConfig, address: str, event: str) -> str:
    contract = chain.contract_for(address)
    assert contract is not None
    return next(t for t, ev in event_map(contract.abi_files).items() if ev.name == event)


def _word(address: str) -> str:
    return "0x" + "0" * 24 + address[2:]


def _log(address: str, topics: tuple[str, ...], log_index: int, block_hash: str = BLOCK, data: bytes = b"") -> Log:
    return Log(7, block_hash, TX, 0, log_index, address, topics, data)


TRANSFER = _log(TOKEN, (_topic0(BASE, TOKEN, "Transfer"), _word(PAYER), _word(BASE.pay_to[0])), 0,
                data=(5).to_bytes(32, "big"))
SETTLED = _log(UPTO, (_topic0(BASE, UPTO, "Settled"),), 1)


def test_only_payments_fetch_their_receipt_and_only_where_a_contract_is_read_from_receipts() -> None:
    reads = receipt_reader(BASE)
    assert reads(TRANSFER)
    assert not reads(with_(TRANSFER, topics=(TRANSFER.topics[0], _word(PAYER), _word(OTHER))))  # not to pay_to
    assert not reads(_log(TOKEN, (_topic0(BASE, TOKEN, "Approval"), _word(PAYER), _word(OTHER)), 0))
    assert not reads(SETTLED)
    assert not reads(_log(TOKEN, ("0x" + "ab" * 32,), 0))  # unknown topic: kept raw, its receipt not asked for
    watching = replace(BASE, contracts=tuple(replace(c, logs=LOGS_WATCH) for c in BASE.contracts))
    assert not receipt_reader(watching)(TRANSFER)  # proxies fetched by eth_getLogs: no receipt needed
    assert not receipt_reader(OPENGRADIENT)(TRANSFER)


def _raw_log(g: Log) -> dict[str, Any]:
    return {
        "blockNumber": hex(g.block_number), "blockHash": g.block_hash, "transactionHash": g.tx_hash,
        "transactionIndex": hex(g.tx_index), "logIndex": hex(g.log_index), "address": g.address,
        "topics": list(g.topics), "data": "0x" + g.data.hex(), "removed": False,
    }


def _raw_receipt(block_hash: str, logs: Sequence[Log]) -> dict[str, Any]:
    return {"transactionHash": TX, "blockNumber": "0x7", "blockHash": block_hash, "transactionIndex": "0x0",
            "status": "0x1", "logs": [_raw_log(g) for g in logs]}


def test_a_receipt_is_validated_like_a_log_answer() -> None:
    r = parse_receipt(_raw_receipt(BLOCK, [TRANSFER, SETTLED]), TX)
    assert r.logs == (TRANSFER, SETTLED) and r.block_hash == BLOCK
    with pytest.raises(RetryableError, match="not found"):
        parse_receipt(None, TX)
    with pytest.raises(RetryableError, match="asked for the receipt"):
        parse_receipt(_raw_receipt(BLOCK, []), "0x" + "33" * 32)
    with pytest.raises(RetryableError, match="another transaction or block"):
        parse_receipt(_raw_receipt(BLOCK, [with_(SETTLED, block_hash=OTHER_BLOCK)]), TX)


class _Node(RpcClient):
    """An RPC whose first receipt answer comes from another block (a reorg in flight)."""

    def __init__(self) -> None:
        super().__init__(["http://unused"], chain_name="base")
        self.receipt_answers = [
            Receipt(TX, 7, OTHER_BLOCK, 0, (with_(TRANSFER, block_hash=OTHER_BLOCK),
                                            with_(SETTLED, block_hash=OTHER_BLOCK))),
            Receipt(TX, 7, BLOCK, 0, (TRANSFER, SETTLED)),
        ]

    async def get_logs(self, addresses: Sequence[str], lo: int, hi: int) -> list[Log]:
        self.stats.calls["eth_getLogs"] += 1
        assert UPTO not in addresses  # the shared proxy is never asked for by address
        return [TRANSFER]

    async def blocks(self, numbers: Iterable[int]) -> dict[int, Block]:
        return {n: Block(n, BLOCK if n == 7 else "0x" + f"{n:064x}", "0x" + f"{n - 1:064x}", 1_700_000_000 + n)
                for n in numbers}

    async def transactions(self, hashes: Iterable[str]) -> dict[str, Tx]:
        return {h: Tx(h, 7, BLOCK, 0, "0x" + "66" * 20, UPTO, b"") for h in hashes}

    async def receipts(self, hashes: Iterable[str]) -> dict[str, Receipt]:
        self.stats.calls["eth_getTransactionReceipt"] += 1
        assert set(hashes) == {TX}
        return {TX: self.receipt_answers.pop(0)}


def test_a_receipt_from_another_block_is_fetched_again_never_written() -> None:
    node = _Node()
    logs, blocks, txs = asyncio.run(fetch_range(node, BASE, 7, 7))
    assert node.stats.calls == Counter({"eth_getLogs": 2, "eth_getTransactionReceipt": 2})
    assert logs == [TRANSFER, SETTLED]  # the proxy's log, of the block the header names
    rows = build_rows(BASE, logs, blocks, txs)
    (payment,) = rows.by_table["payments"]
    assert payment.is_x402 and payment.proxy == UPTO and payment.scheme == "upto"
    (event,) = rows.by_table["x402_events"]
    assert event.event == "Settled" and event.block_hash == BLOCK
