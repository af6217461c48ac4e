"""Walrus payloads of the simulated relay settlements, in the real formats, with their truth.

Individual payloads: {input, output, teeSignature, teeId, timestamp, ethAddress}; batch payloads:
an OpenZeppelin StandardMerkleTree dump whose leaf format follows the window's thirds (io, io_sig,
then the current tee_io_sig_ts). A few blobs are made bad on purpose: expired (never served),
corrupt, a root that is not the event's, a wrong leaf count, an unknown leaf format, and an
individual payload naming another TEE.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from eth_utils.address import to_checksum_address

from indexer.catalog import normalize_model
from indexer.devnet.demand import DAY, Request
from indexer.devnet.records import WalrusBlob, iso
from indexer.devnet.truth import ModelTokens, Walrus
from indexer.walrus import merkle

# Trusted batches / individual settlements made bad on purpose, by their order of appearance.
BAD_BATCHES = {3: "expired", 5: "corrupt", 7: "root_mismatch", 9: "count_mismatch",
               11: "unknown_leaf_format", 14: "expired"}
BAD_INDIVIDUALS = {2: "expired", 4: "corrupt", 6: "other_tee", 8: "input_not_json"}


@dataclass
class Payloads:
    """Builds every payload of one simulation; `served` is what the stand-in aggregator holds."""

    rng: random.Random
    start: int
    days: int
    served: dict[str, bytes] = field(default_factory=dict)
    batches: int = 0
    individuals: int = 0

    def _format(self, ts: int) -> merkle.LeafFormat:
        third = (ts - self.start) * 3 // (self.days * DAY)
        return merkle.format_named(("io", "io_sig", "tee_io_sig_ts")[min(max(third, 0), 2)])

    def _word(self) -> bytes:
        return self.rng.randbytes(32)

    def batch(self, blob_id: str, ts: int, tees: Sequence[bytes | None], trusted: bool, size: int
              ) -> tuple[bytes, WalrusBlob]:
        """The payload of a batch of `size` inferences served by `tees` (one per item); returns the
        merkleRoot the event must carry and the blob's truth."""
        fault = None
        if trusted:
            self.batches += 1
            fault = BAD_BATCHES.get(self.batches)
        fmt = self._format(ts)
        values: list[list[Any]] = []
        json_values: list[list[Any]] = []
        for tee in tees:
            f: dict[str, Any] = {"tee_id": tee or self._word(), "input_hash": self._word(),
                                 "output_hash": self._word(), "signature": self.rng.randbytes(65),
                                 "timestamp": ts - self.rng.randrange(60, 900)}
            if fmt.name == "io_sig":
                f["signature"] = self._word()  # signatureLeafValue: bytes32
            row = [f[name] for name in fmt.fields]
            values.append(row)
            json_values.append([v if isinstance(v, int) else "0x" + v.hex() for v in row])
        n = len(values) - 1 if fault == "count_mismatch" else len(values)
        committed = merkle.dump(fmt.types, values[:n], json_values[:n])
        root = bytes.fromhex(committed["tree"][0][2:])
        if fault == "root_mismatch":  # the payload's last leaf is not what the root commits to
            k, word = fmt.fields.index("input_hash"), self._word()
            values[-1][k], json_values[-1][k] = word, "0x" + word.hex()
        dumped_values = values[:n]
        doc = merkle.dump(fmt.types, dumped_values, json_values[:n])
        status: str = fault if fault in ("root_mismatch", "count_mismatch") else "consistent"
        leaves: int | None = n
        leaf_format: str | None = fmt.name
        if fault == "unknown_leaf_format":
            doc["leafEncoding"] = ["bytes32", "uint256", "address"]
            status, leaves, leaf_format = "unknown_leaf_format", None, None
        body = orjson.dumps(doc)
        if fault == "corrupt":
            body = b"\x89PNG\r\n\x1a\n" + body[:50]
            status, leaves, leaf_format = "unparseable", None, None
        tee_counts: dict[str, int] = {}
        if leaves is not None and fmt.name == "tee_io_sig_ts":
            for v in dumped_values:
                key = "0x" + v[0].hex()
                tee_counts[key] = tee_counts.get(key, 0) + 1
        served = fault != "expired"
        if served:
            self.served[blob_id] = body
        truth = WalrusBlob(
            time=iso(ts), block=0, blob_id=blob_id, kind="batch", trusted=trusted, served=served,
            payload_status=status if served else None, consistent=(status == "consistent") if served else None,
            leaf_format=leaf_format if served else None, leaves=leaves if served else None,
            leaf_tees=tee_counts if served else {}, model=None, prompt_tokens=None, completion_tokens=None,
            total_tokens=None, streamed=None,
        )
        return root, truth

    def individual(self, blob_id: str, ts: int, req: Request, tee_id: bytes, eth_address: str,
                   inp: bytes, out: bytes, sig: bytes) -> WalrusBlob:
        self.individuals += 1
        fault = BAD_INDIVIDUALS.get(self.individuals)
        rng = self.rng
        streamed = rng.random() < 0.3
        usage = None if rng.random() < 0.1 else {"prompt_tokens": rng.randint(20, 3000),
                                                  "completion_tokens": rng.randint(5, 1500)}
        if usage is not None:
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        out_model = req.model.rsplit("/", 1)[-1]  # providers answer without the prefix
        tee_fields = {"tee_signature": base64.b64encode(sig).decode(), "tee_request_hash": "0x" + inp.hex(),
                      "tee_output_hash": "0x" + out.hex(), "tee_timestamp": req.ts, "tee_id": "0x" + tee_id.hex()}
        output: dict[str, Any]
        if streamed:
            output = {"id": f"chatcmpl-{rng.randbytes(8).hex()}", "object": "chat.completion.chunk",
                      "created": req.ts, "model": out_model, "choices": []}
        else:
            output = {"id": f"chatcmpl-{rng.randbytes(8).hex()}", "object": "chat.completion",
                      "created": req.ts, "model": out_model,
                      "choices": [{"index": 0, "message": {"role": "assistant", "content": "Sure: here it is."},
                                   "finish_reason": "stop"}]}
        if usage is not None:
            output["usage"] = usage
        output.update(tee_fields)
        request: Any = {"model": req.model, "messages": [{"role": "user", "content": "Summarise today's ETH market."}],
                        "max_tokens": 1024, "stream": streamed}
        model = req.model
        if fault == "input_not_json":
            request, model = "model=" + req.model + "&prompt=hi", out_model
        claimed_tee = rng.randbytes(32) if fault == "other_tee" else tee_id
        doc = {"input": request, "output": output, "teeSignature": base64.b64encode(sig).decode(),
               "teeId": "0x" + claimed_tee.hex(), "timestamp": str(req.ts),
               "ethAddress": to_checksum_address(eth_address)}
        body = orjson.dumps(doc)
        status = "parsed"
        if fault == "corrupt":
            body, status = body[: len(body) // 2], "unparseable"
        served = fault != "expired"
        if served:
            self.served[blob_id] = body
        parsed = served and status == "parsed"
        return WalrusBlob(
            time=iso(ts), block=0, blob_id=blob_id, kind="individual", trusted=True, served=served,
            payload_status=status if served else None,
            consistent=(fault != "other_tee") if parsed else (False if served else None),
            leaf_format=None, leaves=None, leaf_tees={}, model=model if parsed else None,
            prompt_tokens=usage["prompt_tokens"] if parsed and usage else None,
            completion_tokens=usage["completion_tokens"] if parsed and usage else None,
            total_tokens=usage["total_tokens"] if parsed and usage else None,
            streamed=streamed if parsed else None,
        )


def _sum(values: Sequence[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def walrus_truth(blobs: Sequence[WalrusBlob]) -> Walrus:
    """Per-model tokens (trusted, consistent individual payloads) and per-TEE batch leaves."""
    named: dict[str, list[WalrusBlob]] = {}
    tees: dict[str, int] = {}
    for b in blobs:
        if not b.trusted:
            continue
        key = normalize_model(b.model) if b.model else None
        if b.kind == "individual" and b.consistent and key:
            named.setdefault(key, []).append(b)
        for tee, n in b.leaf_tees.items():
            tees[tee] = tees.get(tee, 0) + n
    models = {k: ModelTokens(len(v), _sum([b.prompt_tokens for b in v]), _sum([b.completion_tokens for b in v]),
                             _sum([b.total_tokens for b in v])) for k, v in sorted(named.items())}
    return Walrus(tuple(blobs), models, dict(sorted(tees.items())))
