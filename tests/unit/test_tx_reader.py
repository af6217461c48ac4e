"""rows.tx_reader: which logs' transactions are looked up, decided from address and topics alone."""

from __future__ import annotations

from indexer.abi import event_map
from indexer.chain import Log
from indexer.config import BASE, OPENGRADIENT, ChainConfig
from indexer.rows import tx_reader


def _log(chain: ChainConfig, role: str, event: str | None, *indexed: str) -> Log:
    contract = next(c for c in chain.contracts if c.role == role)
    if event is None:
        topics: tuple[str, ...] = ("0x" + "ab" * 32,)  # no ABI of the contract knows it
    else:
        topic0 = next(t for t, ev in event_map(contract.abi_files).items() if ev.name == event)
        topics = (topic0, *indexed)
    return Log(1, "0x" + "11" * 32, "0x" + "22" * 32, 0, 0, contract.addresses[0], topics, b"")


def _word(address: str) -> str:
    return "0x" + "0" * 24 + address[2:]


def test_only_logs_whose_rows_read_the_transaction_fetch_it() -> None:
    og, base = tx_reader(OPENGRADIENT), tx_reader(BASE)
    tee = "0x" + "33" * 32
    somebody = _word("0x" + "44" * 20)
    # OpenGradient: a registration's calldata holds its payment address; a heartbeat reads nothing.
    assert og(_log(OPENGRADIENT, "tee_registry", "TEERegistered", tee, somebody, "0x" + "0" * 64))
    assert not og(_log(OPENGRADIENT, "tee_registry", "HeartbeatReceived", tee))
    # Settlements read their sender (trusted-relayer check and tx_from).
    assert og(_log(OPENGRADIENT, "settlement_relay", "BatchSettlement", "0x" + "55" * 32))
    # Base: a transfer to a pay_to address reads sender and settle calldata; others read nothing.
    assert base(_log(BASE, "token", "Transfer", somebody, _word(BASE.pay_to[0])))
    assert not base(_log(BASE, "token", "Transfer", somebody, somebody))
    assert not base(_log(BASE, "token", "Approval", somebody, somebody))
    assert not base(_log(BASE, "x402_upto", "Settled"))


def test_a_log_no_abi_knows_keeps_its_transaction_for_a_later_redecode() -> None:
    assert tx_reader(OPENGRADIENT)(_log(OPENGRADIENT, "tee_registry", None))
    assert tx_reader(BASE)(_log(BASE, "token", None))
