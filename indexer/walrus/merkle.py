"""OpenZeppelin StandardMerkleTree (format standard-v1): leaf formats, leaf hashes, roots (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import encode
from eth_hash.auto import keccak

FORMAT = "standard-v1"


@dataclass(frozen=True)
class LeafFormat:
    """A leaf layout seen on OpenGradient's batches: its solidity types and what each value is."""

    name: str
    types: tuple[str, ...]
    fields: tuple[str, ...]  # tee_id | input_hash | output_hash | signature | timestamp


# Read each batch's leafEncoding: the layout changed over time (reference doc section 7).
LEAF_FORMATS: tuple[LeafFormat, ...] = (
    LeafFormat("tee_io_sig_ts", ("bytes32", "bytes32", "bytes32", "bytes", "uint256"),
               ("tee_id", "input_hash", "output_hash", "signature", "timestamp")),  # from 2026-03-31
    LeafFormat("io_sig", ("bytes32", "bytes32", "bytes32"),
               ("input_hash", "output_hash", "signature")),  # 2026-02 .. 03: signatureLeafValue
    LeafFormat("io", ("bytes32", "bytes32"), ("input_hash", "output_hash")),  # Dec 2025
)
_BY_TYPES = {f.types: f for f in LEAF_FORMATS}
_BY_NAME = {f.name: f for f in LEAF_FORMATS}


def leaf_format(types: Sequence[str]) -> LeafFormat | None:
    """The known format with exactly these solidity types, or None (never a guess)."""
    return _BY_TYPES.get(tuple(types))


def format_named(name: str) -> LeafFormat:
    return _BY_NAME[name]


def leaf_hash(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """keccak256(keccak256(abi.encode(types, values))): the double hash guards against a leaf being
    read as an internal node."""
    return keccak(keccak(encode(list(types), list(values))))


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a <= b else keccak(b + a)


def root_from_leaves(leaves: dict[int, bytes]) -> bytes:
    """The root of an OpenZeppelin tree array (2n-1 nodes, leaves at n-1..2n-2, children of i at
    2i+1 and 2i+2) given each leaf's hash by tree index. The caller checks the indices are exactly
    n-1..2n-2."""
    n = len(leaves)
    nodes: list[bytes] = [b""] * (2 * n - 1)
    for index, h in leaves.items():
        nodes[index] = h
    for i in range(n - 2, -1, -1):
        nodes[i] = hash_pair(nodes[2 * i + 1], nodes[2 * i + 2])
    return nodes[0]


def dump(types: Sequence[str], values: Sequence[Sequence[Any]], json_values: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """StandardMerkleTree.of(values, types).dump(): leaves sorted by hash, laid out from the end of
    the tree array; `values` keep their order and carry their tree index. json_values are the
    values as the dump writes them (hex strings, decimal numbers)."""
    hashes = [leaf_hash(types, v) for v in values]
    order = sorted(range(len(values)), key=lambda i: hashes[i])
    size = 2 * len(values) - 1
    tree: list[bytes] = [b""] * size
    tree_index = [0] * len(values)
    for rank, i in enumerate(order):
        tree_index[i] = size - 1 - rank
        tree[size - 1 - rank] = hashes[i]
    for i in range(len(values) - 2, -1, -1):
        tree[i] = hash_pair(tree[2 * i + 1], tree[2 * i + 2])
    return {
        "format": FORMAT,
        "leafEncoding": list(types),
        "tree": ["0x" + h.hex() for h in tree],
        "values": [{"value": list(v), "treeIndex": t} for v, t in zip(json_values, tree_index, strict=True)],
    }
