"""Token amounts scaled by their decimals stay exact for every uint256."""

from __future__ import annotations

from decimal import Context, Decimal

from eth_abi import encode

from indexer.abi import event_map
from indexer.chain import Block, Log
from indexer.config import BASE
from indexer.roles import Role
from indexer.rows import build_rows
from indexer.tables import ApprovalRow, TokenTransferRow

BLOCK = Block(7, "0x" + "77" * 32, "0x" + "76" * 32, 1_780_000_000)
OWNER, SPENDER = "0x" + "aa" * 20, "0x" + "bb" * 20
MAX_UINT = 2**256 - 1


def _token_log(event: str, a: str, b: str, value: int, index: int) -> Log:
    token = next(c for c in BASE.contracts if c.role == Role.TOKEN)
    ev = next(e for e in event_map(token.abi_files).values() if e.name == event)
    topics = (ev.topic0, "0x" + encode(["address"], [a]).hex(), "0x" + encode(["address"], [b]).hex())
    return Log(BLOCK.number, BLOCK.hash, "0x" + "c1" * 32, 0, index, token.addresses[0], topics,
               encode(["uint256"], [value]))


def test_an_unlimited_approval_keeps_every_digit_of_its_scaled_value() -> None:
    rows = build_rows(BASE, [_token_log("Approval", OWNER, SPENDER, MAX_UINT, 0)], {7: BLOCK}, {})
    (approval,) = rows.by_table[ApprovalRow.TABLE]
    assert isinstance(approval, ApprovalRow)
    assert approval.value_raw == MAX_UINT
    assert approval.value_opg.scaleb(18, Context(prec=100)) == MAX_UINT  # was rounded to 28 digits
    assert str(approval.value_opg) == "115792089237316195423570985008687907853269984665640564039457.584007913129639935"


def test_a_transfer_of_more_than_28_digits_is_scaled_exactly() -> None:
    raw = 12_345_678_901_234_567_890_123_456_789_012  # 32 digits
    rows = build_rows(BASE, [_token_log("Transfer", OWNER, SPENDER, raw, 0)], {7: BLOCK}, {})
    (transfer,) = rows.by_table[TokenTransferRow.TABLE]
    assert isinstance(transfer, TokenTransferRow)
    assert transfer.amount_opg == Decimal("12345678901234.567890123456789012")
