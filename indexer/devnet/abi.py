"""Encode events (topics + data) and function calls from the ABI files in abis/ with eth-abi."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from indexer.config import ABI_DIR
from indexer.devnet.errors import DevnetError


def canonical_type(param: dict[str, Any]) -> str:
    """The ABI type string of one input, tuples spelled out: `(address,uint256)[]`."""
    typ = str(param["type"])
    if typ.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param["components"])
        return f"({inner}){typ[len('tuple'):]}"
    return typ


@dataclass(frozen=True)
class EventAbi:
    name: str
    signature: str
    topic0: bytes
    indexed: tuple[bool, ...]
    types: tuple[str, ...]

    def encode(self, *args: Any) -> tuple[tuple[bytes, ...], bytes]:
        """Topics (topic0 first) and data for positional args in ABI order."""
        if len(args) != len(self.types):
            raise DevnetError(f"{self.signature}: expected {len(self.types)} args, got {len(args)}")
        topics = [self.topic0]
        data_types: list[str] = []
        data_values: list[Any] = []
        for is_indexed, typ, value in zip(self.indexed, self.types, args, strict=True):
            if not is_indexed:
                data_types.append(typ)
                data_values.append(value)
            elif typ in ("string", "bytes") or typ.endswith("]") or typ.startswith("("):
                topics.append(keccak(abi_encode([typ], [value])))
            else:
                topics.append(abi_encode([typ], [value]))
        return tuple(topics), abi_encode(data_types, data_values)


@dataclass(frozen=True)
class FunctionAbi:
    name: str
    signature: str
    selector: bytes
    types: tuple[str, ...]

    def encode(self, *args: Any) -> bytes:
        """Calldata: selector + ABI-encoded positional args."""
        return self.selector + abi_encode(list(self.types), list(args))


_T = TypeVar("_T", EventAbi, FunctionAbi)


@dataclass(frozen=True)
class ContractAbi:
    file: str
    events: tuple[EventAbi, ...]
    functions: tuple[FunctionAbi, ...]

    def event(self, name: str, arity: int | None = None) -> EventAbi:
        return _pick(self.file, "event", name, arity, self.events)

    def function(self, name: str, arity: int | None = None) -> FunctionAbi:
        return _pick(self.file, "function", name, arity, self.functions)


def _pick(
    file: str, kind: str, name: str, arity: int | None, items: Sequence[_T]
) -> _T:
    found = [i for i in items if i.name == name and (arity is None or len(i.types) == arity)]
    if len(found) != 1:
        raise DevnetError(f"{file}: {len(found)} {kind}s named {name!r} (arity {arity})")
    return found[0]


@cache
def load(file: str) -> ContractAbi:
    """Parse abis/<file> (a JSON ABI list)."""
    try:
        entries = json.loads((ABI_DIR / file).read_text())
    except (OSError, ValueError) as err:
        raise DevnetError(f"cannot read ABI file {file}: {err}") from err
    events: list[EventAbi] = []
    functions: list[FunctionAbi] = []
    for e in entries:
        inputs = e.get("inputs", [])
        types = tuple(canonical_type(i) for i in inputs)
        sig = f"{e.get('name')}({','.join(types)})"
        if e.get("type") == "event":
            indexed = tuple(bool(i.get("indexed")) for i in inputs)
            events.append(EventAbi(e["name"], sig, keccak(text=sig), indexed, types))
        elif e.get("type") == "function":
            functions.append(FunctionAbi(e["name"], sig, keccak(text=sig)[:4], types))
    return ContractAbi(file, tuple(events), tuple(functions))
