"""The devnet's event and call encoding (indexer.abi specs + eth-abi), checked against web3's own
contract codec: web3 decodes our logs back to the arguments and encodes the same calldata."""

from __future__ import annotations

import json
from typing import Any

import pytest
from web3 import Web3

from indexer.abi import EventSpec, Param
from indexer.config import ABI_DIR, BASE, OPENGRADIENT
from indexer.devnet.errors import DevnetError
from indexer.devnet.plan import call, encode_event, event

W3 = Web3()
PAYER = Web3.to_checksum_address("0x" + "11" * 20)
TEE_OWNER = Web3.to_checksum_address("0x" + "22" * 20)


def _contract(abi_file: str) -> Any:
    raw = json.loads((ABI_DIR / abi_file).read_text())
    return W3.eth.contract(abi=raw["abi"] if isinstance(raw, dict) else raw)


def _as_log(address: str, topics: tuple[bytes, ...], data: bytes) -> dict[str, Any]:
    return {"address": Web3.to_checksum_address(address), "topics": list(topics), "data": data,
            "blockNumber": 1, "blockHash": bytes(32), "transactionHash": bytes(32),
            "transactionIndex": 0, "logIndex": 0}


def test_web3_decodes_devnet_logs_back_to_their_arguments() -> None:
    token = BASE.addresses_with_role("token")[0]
    registry = OPENGRADIENT.addresses_with_role("tee_registry")[0]
    transfer = event(BASE, token, "OPG_ERC20_Base.json", "Transfer", PAYER, BASE.pay_to[0], 10**18 + 7)
    tee_id = bytes(range(32))
    registered = event(OPENGRADIENT, registry, "TEERegistry.json", "TEERegistered", tee_id, TEE_OWNER, 2)
    assert (transfer.key, registered.key) == ("token.Transfer", "tee_registry.TEERegistered")

    got = _contract("OPG_ERC20_Base.json").events.Transfer().process_log(
        _as_log(token, transfer.log.topics, transfer.log.data))
    assert dict(got["args"]) == {"from": PAYER, "to": Web3.to_checksum_address(BASE.pay_to[0]),
                                 "value": 10**18 + 7}
    got = _contract("TEERegistry.json").events.TEERegistered().process_log(
        _as_log(registry, registered.log.topics, registered.log.data))
    assert dict(got["args"]) == {"teeId": tee_id, "owner": TEE_OWNER, "teeType": 2}


def test_calldata_equals_web3s_encoding_of_the_same_call() -> None:
    args = (((PAYER, 10**17), 7, 1777856400), 42 * 10**15, PAYER, (TEE_OWNER, PAYER, 1777852770),
            b"\x01" * 65)
    ours = call("x402UptoPermit2Proxy.json", "settle", *args)
    theirs = _contract("x402UptoPermit2Proxy.json").encode_abi("settle", args=list(args))
    assert "0x" + ours.hex() == theirs


def test_wrong_argument_counts_and_unknown_names_raise() -> None:
    token = BASE.addresses_with_role("token")[0]
    with pytest.raises(DevnetError, match="expected 3 args, got 2"):
        event(BASE, token, "OPG_ERC20_Base.json", "Transfer", PAYER, PAYER)
    with pytest.raises(DevnetError, match="0 functions named 'nope'"):
        call("OPG_ERC20_Base.json", "nope")
    with pytest.raises(DevnetError, match="is not a configured contract"):
        event(BASE, "0x" + "99" * 20, "OPG_ERC20_Base.json", "Transfer", PAYER, PAYER, 1)


def test_an_indexed_dynamic_value_is_refused_not_encoded_wrongly() -> None:
    memo = Param("memo", "string", True, (), "")
    spec = EventSpec("Memo", "Memo(string)", "0x" + "ab" * 32, (memo,), False, "test")
    with pytest.raises(DevnetError, match="indexed string 'memo' is not supported"):
        encode_event(spec, "hello")
