"""The simulated model catalog: listed LLM names and ONNX CIDs, and which ones get traffic."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from indexer.config import OPENGRADIENT
from indexer.devnet.errors import DevnetError
from indexer.devnet.records import mirrors
from indexer.roles import Role
from indexer.tables import ModelRow

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def cid(label: str) -> str:
    """A CIDv0 (`Qm…`, base58 of the sha2-256 multihash) derived from a label: stable, valid."""
    raw = b"\x12\x20" + hashlib.sha256(label.encode()).digest()
    n = int.from_bytes(raw, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return out


@mirrors(ModelRow, truth_only=("listed",))  # og.models holds listed models only (listed_at: when)
@dataclass(frozen=True)
class Model:
    model: str  # provider/name for LLMs, CID for ONNX models
    kind: str  # llm | onnx
    listed: bool
    source: str  # sdk (indexer/data/tee_llm_models.json) | devnet (listed here only) | unlisted


# The indexer seeds og.models from this file (TEE_LLM of the opengradient SDK).
SDK_MODELS_FILE = Path(__file__).resolve().parents[1] / "data" / "tee_llm_models.json"
UNLISTED_LLM = "meta-llama/Meta-Llama-3.1-8B-Instruct"


@cache
def listed_llms() -> tuple[str, ...]:
    """The SDK's listed LLM names, in file order."""
    try:
        rows = json.loads(SDK_MODELS_FILE.read_text())
        return tuple(str(r["model"]) for r in rows if r.get("kind") == "llm")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DevnetError(f"cannot read the SDK model list {SDK_MODELS_FILE}: {e}") from e


ETH_VOLATILITY = cid("og/eth-usdt-1h-volatility")
BTC_FORECAST = cid("og/btc-usdt-1h-forecast")
SUI_VOLATILITY = cid("og/sui-usdt-30m-volatility")
IRIS = cid("og/iris-classifier")
SPAM = cid("og/spam-classifier")
SENTIMENT = cid("og/sentiment-small")
UNLISTED_ONNX = cid("og/pendle-yield-forecast")
LISTED_ONNX = (ETH_VOLATILITY, BTC_FORECAST, SUI_VOLATILITY, IRIS, SPAM, SENTIMENT)

# Models the gateway serves (their use is mostly invisible on-chain: batch/private settlements).
GATEWAY_LLMS = (
    "openai/gpt-4.1-2025-04-14",
    "anthropic/claude-sonnet-4-5",
    "openai/gpt-5-mini",
    "google/gemini-2.5-flash",
    "x-ai/grok-4-fast",
    "anthropic/claude-haiku-4-5",
)
# Legacy (alpha) path: model on-chain in 0xF4 events.
LEGACY_LLMS = ("nous/hermes-4-70b", "zai/glm-5.2", "openai/gpt-4.1-2025-04-14", UNLISTED_LLM)
LEGACY_ONNX = (IRIS, SPAM, UNLISTED_ONNX)
# Model names carried by legacy SettlementWithMetadata.modelInfo.
METADATA_LLMS = ("openai/gpt-4.1-2025-04-14", "anthropic/claude-sonnet-4-5", "openai/o4-mini")

_WORKFLOW_MODEL_LABELS = (
    "og/eth-usdt-1h-volatility",
    "og/btc-usdt-1h-forecast",
    "og/sui-usdt-30m-volatility",
    "og/eth-usdt-1h-volatility",
    "og/btc-usdt-1h-forecast",
    "og/sui-usdt-30m-volatility",
    "og/eth-usdt-1h-volatility",
)
# Every workflow contract's modelId(), answered by its emitter for calls without a log trailer.
WORKFLOW_MODELS: dict[str, str] = {
    addr: cid(label)
    for addr, label in zip(
        OPENGRADIENT.addresses_with_role(Role.WORKFLOW), _WORKFLOW_MODEL_LABELS, strict=True
    )
}
ACTIVE_WORKFLOWS = OPENGRADIENT.addresses_with_role(Role.WORKFLOW)[:3]


def catalog() -> tuple[Model, ...]:
    """Every listed model plus the used-but-unlisted ones, in a fixed order."""
    models = [Model(m, "llm", True, "sdk") for m in listed_llms()]
    models += [Model(m, "onnx", True, "devnet") for m in LISTED_ONNX]
    models += [Model(UNLISTED_LLM, "llm", False, "unlisted"),
               Model(UNLISTED_ONNX, "onnx", False, "unlisted")]
    used = set(GATEWAY_LLMS + LEGACY_LLMS + METADATA_LLMS) - {UNLISTED_LLM}
    missing = used - {m.model for m in models}
    if missing:
        raise DevnetError(f"simulated models missing from the catalog: {sorted(missing)}")
    return tuple(models)


def kind_of(model: str) -> str:
    return "onnx" if model.startswith("Qm") else "llm"
