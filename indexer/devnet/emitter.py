"""Log-emitter bytecode placed at every contract address, and the calldata trailer it executes.

A transaction's input is `real ABI call ‖ records ‖ uint16 len(records) ‖ b"OGDV"`. Each record is
`address(20) ‖ ntopics(1) ‖ uint16 len(data) ‖ topics(32·n) ‖ data`; records run in order. A record
for the contract's own address becomes LOGn there; any other address is CALLed with that single
record as its trailer (it runs the same code), so one transaction emits logs from several addresses
in order, each with its real `address`. A call without the magic returns the contract's static
return blob (e.g. a workflow's ABI-encoded `modelId()`), empty by default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from indexer.devnet.asm import Item, Label, Mark, Push, Ref, assemble
from indexer.devnet.errors import DevnetError

if TYPE_CHECKING:  # web3 is imported only by what talks to a node
    from indexer.devnet.anvil_client import AnvilClient

MAGIC = b"OGDV"
_MAGIC_INT = int.from_bytes(MAGIC, "big")
_HEADER = 23  # address 20 + ntopics 1 + data length 2
_FOOTER = 6  # uint16 records length + magic


@dataclass(frozen=True)
class LogSpec:
    """One log to emit: `address` is a 0x address; topics are 32-byte values (topic0 first)."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes


def _program(blob_len: int) -> list[Item]:
    # Stack comments list the top last.
    prog: list[Item] = [
        Push(4), "CALLDATASIZE", "SUB", "CALLDATALOAD", Push(224), "SHR",
        Push(_MAGIC_INT), "EQ", Ref("run"), "JUMPI",
        Push(blob_len), Ref("blob"), Push(0), "CODECOPY", Push(blob_len), Push(0), "RETURN",
        Label("run"),
        Push(_FOOTER), "CALLDATASIZE", "SUB",  # end
        "DUP1", "CALLDATALOAD", Push(240), "SHR", "DUP2", "SUB",  # end p
        Label("loop"),
        "DUP2", "DUP2", "LT", "ISZERO", Ref("done"), "JUMPI",
        "DUP1", "CALLDATALOAD", "DUP1", Push(96), "SHR", "SWAP1",  # end p addr w
        "DUP1", Push(88), "SHR", Push(0xFF), "AND",  # end p addr w n
        "SWAP1", Push(72), "SHR", Push(0xFFFF), "AND",  # end p addr n dlen
        "DUP2", Push(5), "SHL", Push(_HEADER), "ADD",  # end p addr n dlen hdr
        "DUP2", "DUP2", "ADD",  # end p addr n dlen hdr reclen
        "DUP5", "ADDRESS", "EQ", Ref("self"), "JUMPI",
        # another address: CALL it with this one record as its trailer
        "DUP1", "DUP7", Push(0), "CALLDATACOPY",
        Push(_MAGIC_INT << 208), "DUP2", Push(240), "SHL", "OR", "DUP2", "MSTORE",
        Push(0), Push(0), "DUP3", Push(_FOOTER), "ADD", Push(0), Push(0), "DUP10", "GAS", "CALL",
        "ISZERO", Ref("fail"), "JUMPI", Ref("next"), "JUMP",
        Label("self"),
        "DUP3", "DUP3", "DUP8", "ADD", Push(0), "CALLDATACOPY",
    ]
    for k in range(5):
        prog += ["DUP4", Push(k), "EQ", Ref(f"log{k}"), "JUMPI"]
    prog += [Ref("fail"), "JUMP"]
    for k in range(5):
        prog.append(Label(f"log{k}"))
        for j, i in enumerate(reversed(range(k))):
            prog += [Push(_HEADER + 32 * i), f"DUP{7 + j}", "ADD", "CALLDATALOAD"]
        prog += [f"DUP{3 + k}", Push(0), f"LOG{k}", Ref("next"), "JUMP"]
    prog += [
        Label("next"),
        "DUP6", "ADD", "SWAP5", "POP", "POP", "POP", "POP", "POP", Ref("loop"), "JUMP",
        Label("done"), "STOP",
        Label("fail"), Push(0), Push(0), "REVERT",
        Mark("blob"),
    ]
    return prog


def runtime_code(static_return: bytes = b"") -> bytes:
    """The emitter's runtime bytecode, answering calls without a trailer with static_return."""
    if len(static_return) > 0xFFFF:
        raise DevnetError("static return blob too large")
    return assemble(_program(len(static_return))) + static_return


def _address_bytes(address: str) -> bytes:
    raw = bytes.fromhex(address.removeprefix("0x"))
    if len(raw) != 20:
        raise DevnetError(f"not a 20-byte address: {address!r}")
    return raw


def encode_record(log: LogSpec) -> bytes:
    if len(log.topics) > 4 or any(len(t) != 32 for t in log.topics):
        raise DevnetError(f"log at {log.address}: need 0-4 topics of 32 bytes")
    if len(log.data) > 0xFFFF:
        raise DevnetError(f"log at {log.address}: data longer than 65535 bytes")
    header = _address_bytes(log.address) + bytes([len(log.topics)])
    return header + len(log.data).to_bytes(2, "big") + b"".join(log.topics) + log.data


def trailer(logs: Sequence[LogSpec]) -> bytes:
    """The bytes appended to a call so the receiving emitter emits `logs` in order."""
    body = b"".join(encode_record(log) for log in logs)
    if len(body) > 0xFFFF:
        raise DevnetError(f"log trailer too large ({len(body)} bytes)")
    return body + len(body).to_bytes(2, "big") + MAGIC


def with_logs(call: bytes, logs: Sequence[LogSpec]) -> bytes:
    """Transaction input: the real ABI-encoded call followed by the log trailer."""
    return call + trailer(logs)


def split_input(data: bytes) -> tuple[bytes, tuple[LogSpec, ...]]:
    """Inverse of with_logs: the real call and the logs its trailer asks for."""
    if len(data) < _FOOTER or data[-4:] != MAGIC:
        return data, ()
    size = int.from_bytes(data[-_FOOTER:-4], "big")
    start = len(data) - _FOOTER - size
    if start < 0:
        raise DevnetError("log trailer length exceeds the input")
    logs: list[LogSpec] = []
    p = start
    while p < len(data) - _FOOTER:
        n = data[p + 20]
        dlen = int.from_bytes(data[p + 21 : p + 23], "big")
        topics = tuple(data[p + _HEADER + 32 * i : p + _HEADER + 32 * (i + 1)] for i in range(n))
        body = p + _HEADER + 32 * n
        logs.append(LogSpec("0x" + data[p : p + 20].hex(), topics, data[body : body + dlen]))
        p = body + dlen
    return data[:start], tuple(logs)


def install(
    rpc: AnvilClient, addresses: Iterable[str], static_returns: Mapping[str, bytes] | None = None
) -> None:
    """anvil_setCode the emitter at every address (one batch); verifies the code landed."""
    static_returns = {k.lower(): v for k, v in (static_returns or {}).items()}
    addrs = sorted({a.lower() for a in addresses})
    codes = {a: runtime_code(static_returns.get(a, b"")) for a in addrs}
    rpc.batch([("anvil_setCode", [a, "0x" + codes[a].hex()]) for a in addrs])
    got = rpc.batch([("eth_getCode", [a, "latest"]) for a in addrs])
    for a, code in zip(addrs, got, strict=True):
        if code != "0x" + codes[a].hex():
            raise DevnetError(f"emitter code did not land at {a} on {rpc.url}")
