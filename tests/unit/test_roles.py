"""Roles and the handler registry: every role handled or context only, what a handler reads derives
the fetcher's transaction predicate and the kept calldata, and calldata that does not decode is
recorded, not swallowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode

from indexer.abi import event_map, function_map
from indexer.batch import UndecodedCall
from indexer.chain import Block, Log, Tx
from indexer.config import BASE, OPENGRADIENT, ChainConfig, ConfigError, Contract, load_config
from indexer.encode import decode_range, pack_fetched
from indexer.roles import CONTEXT_ONLY, Role
from indexer.rows import HANDLERS, Rows, build_rows, handles, tx_reader
from indexer.tables import PaymentRow, TeeEventRow, TransactionRow

BLOCK = Block(7, "0x" + "77" * 32, "0x" + "76" * 32, 1_780_000_000)
SENDER = "0x" + "aa" * 20
PAYER = "0x" + "bb" * 20


def _contract(chain: ChainConfig, role: Role) -> Contract:
    return next(c for c in chain.contracts if c.role == role)


def _log(chain: ChainConfig, role: Role, event: str, args: list[Any], tx: str, index: int) -> Log:
    """A log of `event` emitted by the first address of the role's contract, args in ABI order."""
    contract = _contract(chain, role)
    ev = next(e for e in event_map(contract.abi_files).values() if e.name == event)
    topics = [ev.topic0]
    topics += ["0x" + encode([p.type], [v]).hex() for p, v in zip(ev.params, args, strict=True) if p.indexed]
    unindexed = [(p.type, v) for p, v in zip(ev.params, args, strict=True) if not p.indexed]
    data = encode([t for t, _ in unindexed], [v for _, v in unindexed])
    return Log(BLOCK.number, BLOCK.hash, tx, 0, index, contract.addresses[0], tuple(topics), data)


def _tx(h: str, to: str, data: bytes) -> Tx:
    return Tx(h, BLOCK.number, BLOCK.hash, 0, SENDER, to, data)


def test_every_role_has_a_handler_or_is_watched_for_context_only() -> None:
    assert set(HANDLERS) | CONTEXT_ONLY == set(Role)
    assert not set(HANDLERS) & CONTEXT_ONLY
    assert {Role.PERMIT2} == CONTEXT_ONLY


def test_a_role_cannot_be_registered_twice_nor_a_context_role_at_all() -> None:
    def handler(*_: Any) -> None:
        pass

    before = dict(HANDLERS)
    for role in (Role.TOKEN, Role.PERMIT2):
        with pytest.raises(TypeError, match=f"role {role} already has a handler or is context only"):
            handles(role)(handler)
    assert before == HANDLERS


def test_roles_keep_their_config_strings(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text(
        "[chains.base.contracts.second_token]\nrole = 'token'\n"
        "addresses = ['0x1111111111111111111111111111111111111111']\nabi_files = ['OPG_ERC20_Base.json']\n"
    )
    c = _contract(load_config(f, {}).chain("base"), Role.TOKEN)
    assert c.role is Role.TOKEN and str(c.role) == "token" and f"{c.role}.Transfer" == "token.Transfer"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[chains.base.contracts.opg_token]\nrole = 'legacy_tee_settlement'", "opg_token.role must be one of"),
        ("[chains.base.contracts.permit2]\nwatch = true", "role permit2 is context only"),
        (
            "[chains.base.contracts.p2]\nrole = 'permit2'\nabi_files = ['Permit2.json']\n"
            "addresses = ['0x1111111111111111111111111111111111111111']",
            "contracts.p2: role permit2 is context only (no handler maps its logs to rows): set watch = false",
        ),
    ],
)
def test_config_refuses_a_role_without_a_handler(tmp_path: Path, toml: str, message: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(toml)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(f, {})


def test_the_transaction_predicate_follows_the_role_not_the_address(tmp_path: Path) -> None:
    """The same relay ABI at a new address reads every transaction as a settlement relay, and none
    as an x402 proxy (whose events read nothing)."""
    address = "0x1111111111111111111111111111111111111111"
    f = tmp_path / "c.toml"
    for role, expected in (("settlement_relay", True), ("x402_exact", False)):
        f.write_text(
            f"[chains.opengradient.contracts.extra]\nrole = '{role}'\naddresses = ['{address}']\n"
            "abi_files = ['InferenceSettlementRelay.json']\n"
        )
        chain = load_config(f, {}).chain("opengradient")
        ev = next(e for e in event_map(("InferenceSettlementRelay.json",)).values() if e.name == "BatchSettlement")
        log = Log(1, "0x" + "11" * 32, "0x" + "22" * 32, 0, 0, address, (ev.topic0, "0x" + "55" * 32), b"")
        assert tx_reader(chain)(log) is expected


def _payment_logs(with_proxy: bool, calldata: bytes) -> tuple[list[Log], dict[str, Tx]]:
    h = "0x" + ("c1" if with_proxy else "c2") * 32
    logs = [_log(BASE, Role.TOKEN, "Transfer", [PAYER, BASE.pay_to[0], 10**18], h, 0)]
    proxy = _contract(BASE, Role.X402_UPTO).addresses[0]
    if with_proxy:
        logs.append(_log(BASE, Role.X402_UPTO, "Settled", [], h, 1))
    return logs, {h: _tx(h, proxy, calldata)}


def _payment(with_proxy: bool, calldata: bytes) -> tuple[Rows, str]:
    logs, txs = _payment_logs(with_proxy, calldata)
    return build_rows(BASE, logs, {7: BLOCK}, txs), logs[0].tx_hash


def test_settle_calldata_that_does_not_decode_is_recorded_and_the_input_kept() -> None:
    rows, h = _payment(True, bytes.fromhex("deadbeef") + b"\x00" * 32)
    (payment,) = rows.by_table[PaymentRow.TABLE]
    assert isinstance(payment, PaymentRow)
    assert (payment.is_x402, payment.scheme) == (True, "upto")
    assert (payment.settle_owner, payment.settle_amount_raw, payment.session_cap_raw) == (None, None, None)
    assert rows.undecoded_calls == [UndecodedCall(h, Role.X402_UPTO, "unknown selector 0xdeadbeef")]
    (tx,) = rows.by_table[TransactionRow.TABLE]
    assert isinstance(tx, TransactionRow) and tx.input == bytes.fromhex("deadbeef") + b"\x00" * 32
    # The record reaches what the sync gets back from a decode worker.
    logs, txs = _payment_logs(True, bytes.fromhex("deadbeef") + b"\x00" * 32)
    encoded = decode_range(BASE, pack_fetched(logs, txs), {7: BLOCK}, [])
    assert encoded.undecoded_calls == rows.undecoded_calls


def test_a_transfer_without_an_x402_proxy_keeps_no_input_and_reads_no_calldata() -> None:
    rows, _ = _payment(False, bytes.fromhex("deadbeef"))
    (tx,) = rows.by_table[TransactionRow.TABLE]
    assert isinstance(tx, TransactionRow) and tx.input is None
    assert rows.undecoded_calls == []


def _registration(calldata: bytes) -> tuple[Rows, str]:
    h = "0x" + "d1" * 32
    log = _log(OPENGRADIENT, Role.TEE_REGISTRY, "TEERegistered", [b"\x33" * 32, PAYER, 1], h, 0)
    registry = _contract(OPENGRADIENT, Role.TEE_REGISTRY).addresses[0]
    return build_rows(OPENGRADIENT, [log], {7: BLOCK}, {h: _tx(h, registry, calldata)}), h


def test_registration_calldata_that_does_not_decode_is_recorded() -> None:
    rows, h = _registration(bytes.fromhex("0badc0de"))
    (event,) = rows.by_table[TeeEventRow.TABLE]
    assert isinstance(event, TeeEventRow) and "paymentAddress" not in event.args
    assert rows.undecoded_calls == [UndecodedCall(h, Role.TEE_REGISTRY, "unknown selector 0x0badc0de")]


def test_a_registration_with_attestation_gives_its_payment_address() -> None:
    fn = next(f for f in function_map(_contract(OPENGRADIENT, Role.TEE_REGISTRY).abi_files).values()
              if f.name == "registerTEEWithAttestation")
    payment = "0x" + "cc" * 20
    calldata = bytes.fromhex(fn.selector[2:]) + encode(
        [p.type for p in fn.params], [b"doc", b"key", b"tls", payment, "https://tee.example", 1]
    )
    rows, _ = _registration(calldata)
    (event,) = rows.by_table[TeeEventRow.TABLE]
    assert isinstance(event, TeeEventRow) and f'"paymentAddress":"{payment}"' in event.args
    assert rows.undecoded_calls == []


def test_handlers_are_registered_with_what_they_read() -> None:
    assert set(HANDLERS[Role.TOKEN].reads_tx) == {"Transfer"}
    assert HANDLERS[Role.TOKEN].reads_calldata_of == {Role.X402_UPTO, Role.X402_EXACT}
    assert set(HANDLERS[Role.TEE_REGISTRY].reads_tx) == {"TEERegistered"}
    assert not HANDLERS[Role.X402_UPTO].reads_tx
    assert HANDLERS[Role.INFERENCE_HUB].handler is HANDLERS[Role.WORKFLOW].handler
