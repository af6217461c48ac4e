"""Emitter trailer encoding and the tiny assembler, without a chain."""

from __future__ import annotations

import pytest

from indexer.devnet.asm import Label, Push, Ref, assemble, push_bytes
from indexer.devnet.emitter import MAGIC, LogSpec, runtime_code, split_input, trailer, with_logs
from indexer.devnet.errors import DevnetError

A = "0x" + "aa" * 20
B = "0x00000000000000000000000000000000000000f4"


def test_trailer_round_trips_the_call_and_the_logs_in_order() -> None:
    call = bytes.fromhex("ff11e7b4") + bytes(range(64))
    logs = (LogSpec(A, (b"\x01" * 32, b"\x02" * 32), b"data"),
            LogSpec(B, (), b""),
            LogSpec(A, tuple(bytes([i]) * 32 for i in range(4)), bytes(300)))
    data = with_logs(call, logs)
    assert data.startswith(call) and data.endswith(MAGIC)
    assert split_input(data) == (call, logs)
    assert len(trailer(logs)) == len(data) - len(call)


def test_input_without_magic_carries_no_logs() -> None:
    assert split_input(b"\x12\x34\x56\x78") == (b"\x12\x34\x56\x78", ())


@pytest.mark.parametrize("log", [
    LogSpec(A, (b"\x00" * 32,) * 5, b""),
    LogSpec(A, (b"\x00" * 31,), b""),
    LogSpec("0x1234", (), b""),
    LogSpec(A, (), bytes(70_000)),
])
def test_records_the_emitter_cannot_run_are_refused(log: LogSpec) -> None:
    with pytest.raises(DevnetError):
        trailer([log])


def test_runtime_code_ends_with_the_static_return_blob() -> None:
    plain, answering = runtime_code(), runtime_code(b"\x00" * 31 + b"\x07")
    assert answering.endswith(b"\x00" * 31 + b"\x07")
    assert len(answering) == len(plain) + 32
    assert runtime_code() == plain  # deterministic


def test_assembler_resolves_labels_to_jumpdests() -> None:
    code = assemble([Ref("end"), "JUMP", "INVALID", Label("end"), "STOP"])
    assert code == bytes([0x61, 0x00, 0x05, 0x56, 0xFE, 0x5B, 0x00])
    with pytest.raises(ValueError, match="undefined label"):
        assemble([Ref("nowhere")])
    with pytest.raises(ValueError, match="unknown opcode"):
        assemble(["PUSH0X"])


@pytest.mark.parametrize(("value", "encoded"), [
    (0, "6000"), (255, "60ff"), (256, "610100"), (2**256 - 1, "7f" + "ff" * 32),
])
def test_push_uses_the_narrowest_width(value: int, encoded: str) -> None:
    assert push_bytes(value).hex() == encoded
    assert assemble([Push(value)]).hex() == encoded
