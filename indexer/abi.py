"""Load the ABI files in abis/ into typed event and function specs (topic0 and selectors computed)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from eth_hash.auto import keccak  # eth-utils' own backend, without eth-utils' import cost

from .config import ABI_DIR


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # canonical ABI type, tuples expanded: "(string,uint8)[]"
    indexed: bool
    components: tuple[Param, ...]  # for tuple types, the component params (names kept for JSON)
    array_suffix: str  # "" or "[]" / "[3]" … for tuples


@dataclass(frozen=True)
class EventSpec:
    name: str
    signature: str  # "Transfer(address,address,uint256)"
    topic0: str  # 0x-hex, from keccak(signature)
    params: tuple[Param, ...]
    anonymous: bool
    source: str  # ABI file name

    @property
    def indexed(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.indexed)

    @property
    def unindexed(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if not p.indexed)


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    signature: str
    selector: str  # 0x + 8 hex
    params: tuple[Param, ...]
    source: str


def _param(raw: Mapping[str, Any], indexed: bool = False) -> Param:
    typ = str(raw["type"])
    if typ.startswith("tuple"):
        comps = tuple(_param(c) for c in raw.get("components", []))
        suffix = typ[len("tuple") :]
        canonical = "(" + ",".join(c.type for c in comps) + ")" + suffix
        return Param(str(raw.get("name", "")), canonical, indexed, comps, suffix)
    return Param(str(raw.get("name", "")), typ, indexed, (), "")


def _entries(path: Path) -> list[Mapping[str, Any]]:
    data = json.loads(path.read_text())
    if isinstance(data, dict):
        data = data.get("abi", [])
    if not isinstance(data, list):
        raise ValueError(f"{path.name}: not an ABI (expected a list or an object with 'abi')")
    return [e for e in data if isinstance(e, dict)]


@cache
def load_abi(
    file_name: str, abi_dir: Path = ABI_DIR
) -> tuple[tuple[EventSpec, ...], tuple[FunctionSpec, ...]]:
    """Every event and function of one ABI file, with topic0 / selector computed from the signature."""
    events: list[EventSpec] = []
    functions: list[FunctionSpec] = []
    for e in _entries(abi_dir / file_name):
        kind = e.get("type")
        if kind == "event":
            params = tuple(_param(i, bool(i.get("indexed"))) for i in e.get("inputs", []))
            sig = f"{e['name']}({','.join(p.type for p in params)})"
            events.append(
                EventSpec(
                    name=str(e["name"]),
                    signature=sig,
                    topic0="0x" + keccak(sig.encode()).hex(),
                    params=params,
                    anonymous=bool(e.get("anonymous", False)),
                    source=file_name,
                )
            )
        elif kind == "function":
            params = tuple(_param(i) for i in e.get("inputs", []))
            sig = f"{e['name']}({','.join(p.type for p in params)})"
            functions.append(
                FunctionSpec(
                    name=str(e["name"]),
                    signature=sig,
                    selector="0x" + keccak(sig.encode())[:4].hex(),
                    params=params,
                    source=file_name,
                )
            )
    return tuple(events), tuple(functions)


@cache
def event_map(abi_files: tuple[str, ...]) -> Mapping[str, EventSpec]:
    """topic0 -> event for a contract's ABI files; the first file wins on a shared signature."""
    out: dict[str, EventSpec] = {}
    for f in abi_files:
        for ev in load_abi(f)[0]:
            if not ev.anonymous:
                out.setdefault(ev.topic0, ev)
    return out


@cache
def function_map(abi_files: tuple[str, ...]) -> Mapping[str, FunctionSpec]:
    """selector -> function for a contract's ABI files."""
    out: dict[str, FunctionSpec] = {}
    for f in abi_files:
        for fn in load_abi(f)[1]:
            out.setdefault(fn.selector, fn)
    return out
