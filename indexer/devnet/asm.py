"""A tiny typed EVM assembler: opcode names, integer pushes and labels to runtime bytecode."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

_BASE = {
    "STOP": 0x00, "ADD": 0x01, "MUL": 0x02, "SUB": 0x03, "LT": 0x10, "GT": 0x11, "EQ": 0x14,
    "ISZERO": 0x15, "AND": 0x16, "OR": 0x17, "SHL": 0x1B, "SHR": 0x1C, "ADDRESS": 0x30,
    "CALLDATALOAD": 0x35, "CALLDATASIZE": 0x36, "CALLDATACOPY": 0x37, "CODECOPY": 0x39,
    "POP": 0x50, "MLOAD": 0x51, "MSTORE": 0x52, "JUMP": 0x56, "JUMPI": 0x57, "GAS": 0x5A,
    "JUMPDEST": 0x5B, "CALL": 0xF1, "RETURN": 0xF3, "REVERT": 0xFD, "INVALID": 0xFE,
}
OPCODES: dict[str, int] = {
    **_BASE,
    **{f"DUP{i}": 0x7F + i for i in range(1, 17)},
    **{f"SWAP{i}": 0x8F + i for i in range(1, 17)},
    **{f"LOG{i}": 0xA0 + i for i in range(5)},
}


@dataclass(frozen=True)
class Push:
    """PUSHn of the smallest width that holds value (PUSH1 for 0)."""

    value: int


@dataclass(frozen=True)
class Label:
    """A jump target: assembles to JUMPDEST and names its offset."""

    name: str


@dataclass(frozen=True)
class Mark:
    """Names the current offset without emitting a byte (e.g. where trailing data begins)."""

    name: str


@dataclass(frozen=True)
class Ref:
    """PUSH2 of a Label's or Mark's offset."""

    name: str


Item = str | Push | Label | Mark | Ref


def push_bytes(value: int) -> bytes:
    if not 0 <= value < 1 << 256:
        raise ValueError(f"push value out of range: {value}")
    width = max(1, (value.bit_length() + 7) // 8)
    return bytes([0x5F + width]) + value.to_bytes(width, "big")


def _size(item: Item) -> int:
    if isinstance(item, str):
        return 1
    if isinstance(item, Push):
        return len(push_bytes(item.value))
    if isinstance(item, Label):
        return 1
    if isinstance(item, Mark):
        return 0
    return 3


def assemble(program: Sequence[Item]) -> bytes:
    """Two passes: place labels, then emit; unknown opcodes and labels raise ValueError."""
    offsets: dict[str, int] = {}
    pc = 0
    for item in program:
        if isinstance(item, Label | Mark):
            if item.name in offsets:
                raise ValueError(f"label {item.name!r} defined twice")
            offsets[item.name] = pc
        pc += _size(item)
    out = bytearray()
    for item in program:
        if isinstance(item, str):
            if item not in OPCODES:
                raise ValueError(f"unknown opcode {item!r}")
            out.append(OPCODES[item])
        elif isinstance(item, Push):
            out += push_bytes(item.value)
        elif isinstance(item, Label):
            out.append(OPCODES["JUMPDEST"])
        elif isinstance(item, Ref):
            if item.name not in offsets:
                raise ValueError(f"undefined label {item.name!r}")
            out += bytes([0x61]) + offsets[item.name].to_bytes(2, "big")
    return bytes(out)
