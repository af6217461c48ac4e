"""Well-formed JSON-RPC answers decoded straight into chain.py's types, in C (msgspec).

The common answer to eth_getLogs or a batch of eth_getTransactionByHash is decoded against the
shapes below, which check types and lengths as they parse; the little left (0x prefixes, hex,
lowercase) is done per item in Python. Anything these shapes or checks do not take raises
NotPlain, and rpc.py reads that answer again the general way, which names what is wrong (a JSON-RPC
error, a malformed field, a missing transaction) exactly as before: the fast path only ever accepts
an answer the general path accepts, with the same result (tests/unit/test_wire.py).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from .chain import Log, Tx

_Hash = Annotated[str, msgspec.Meta(min_length=66, max_length=66)]
_Address = Annotated[str, msgspec.Meta(min_length=42, max_length=42)]


class NotPlain(ValueError):
    """The answer is not in the common well-formed shape: read it the general way."""


class _WireLog(msgspec.Struct, gc=False):
    address: _Address
    topics: Annotated[list[_Hash], msgspec.Meta(max_length=4)]
    data: str
    blockNumber: str
    blockHash: _Hash
    transactionHash: _Hash
    transactionIndex: str
    logIndex: str
    removed: bool = False


class _LogsAnswer(msgspec.Struct, gc=False):
    result: list[_WireLog]
    error: None = None  # a JSON-RPC error (not null) does not fit: the general path raises it


class _WireTx(msgspec.Struct, gc=False):
    hash: _Hash
    blockHash: _Hash
    blockNumber: str
    transactionIndex: str
    sender: _Address = msgspec.field(name="from")
    input: str
    to: _Address | None = None


class _TxItem(msgspec.Struct, gc=False):
    id: int
    result: _WireTx  # null (not found) does not fit: the general path says which
    error: None = None


_LOGS = msgspec.json.Decoder(_LogsAnswer)
_TX_BATCH = msgspec.json.Decoder(list[_TxItem])


def logs(body: bytes) -> list[Log]:
    """The logs of an eth_getLogs answer, parsed and checked as rpc.parse_log does; NotPlain if
    the answer is anything but a plain result of well-formed, not removed logs."""
    try:
        wire = _LOGS.decode(body).result
        out = [
            Log(
                int(w.blockNumber, 16),
                w.blockHash.lower(),
                w.transactionHash.lower(),
                int(w.transactionIndex, 16),
                int(w.logIndex, 16),
                w.address.lower(),
                tuple([t.lower() for t in w.topics]),
                bytes.fromhex(w.data[2:]),
            )
            for w in wire
            if not w.removed
            and w.blockNumber[:2] == w.blockHash[:2] == w.transactionHash[:2] == w.transactionIndex[:2] == "0x"
            and w.logIndex[:2] == w.address[:2] == w.data[:2] == "0x"
            and all([t[:2] == "0x" for t in w.topics])
        ]
    except (msgspec.DecodeError, ValueError) as e:  # ValidationError is a DecodeError
        raise NotPlain(str(e)) from None
    if len(out) != len(wire):
        raise NotPlain("a log is removed or lacks a 0x prefix")
    return out


def transactions(body: bytes, first_id: int, hashes: list[str]) -> list[Tx]:
    """The transactions of a batch answer to eth_getTransactionByHash for `hashes` (request ids
    first_id, first_id + 1, ...), in that order, checked as rpc.parse_tx does; NotPlain otherwise."""
    try:
        items = _TX_BATCH.decode(body)
        if len(items) != len(hashes):
            raise NotPlain("batch answer of another length")
        by_id = {it.id: it.result for it in items}
        wire = [by_id[first_id + k] for k in range(len(hashes))]
        out = [
            Tx(
                w.hash.lower(),
                int(w.blockNumber, 16),
                w.blockHash.lower(),
                int(w.transactionIndex, 16),
                w.sender.lower(),
                None if w.to is None else w.to.lower(),
                bytes.fromhex(w.input[2:]),
            )
            for w in wire
            if w.hash[:2] == w.blockHash[:2] == w.blockNumber[:2] == w.transactionIndex[:2] == "0x"
            and w.sender[:2] == w.input[:2] == "0x"
            and (w.to is None or w.to[:2] == "0x")
        ]
    except (msgspec.DecodeError, ValueError, KeyError) as e:
        raise NotPlain(str(e)) from None
    if len(out) != len(hashes) or any([t.hash != h for t, h in zip(out, hashes, strict=True)]):
        raise NotPlain("a transaction lacks a 0x prefix or is not the one asked for")
    return out
