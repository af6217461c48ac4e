"""What a watched contract is: the roles a configuration may give it, each handled in rows.py or context only."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A contract's role decides which handler in indexer/rows.py turns its decoded events into rows.

    Values are the strings config files and devnet ground truth use (a StrEnum compares and formats
    as its value). Every role is either registered with a handler in rows.py (checked when rows.py
    is imported) or listed in CONTEXT_ONLY."""

    TEE_REGISTRY = "tee_registry"
    SETTLEMENT_RELAY = "settlement_relay"
    LEGACY_RELAY = "legacy_relay"
    INFERENCE_PRECOMPILE = "inference_precompile"
    INFERENCE_HUB = "inference_hub"
    WORKFLOW = "workflow"
    TOKEN = "token"
    X402_UPTO = "x402_upto"
    X402_EXACT = "x402_exact"
    PERMIT2 = "permit2"


# Watched for context, never for its logs: a contract with one of these roles has no handler, so
# configuration refuses `watch = true` for it (its logs would map to no table).
# - PERMIT2: emits nothing on the witness transfers x402 settles through and is busy with every
#   token on Base; its address is what approvals' `to_permit2` compares the spender with.
CONTEXT_ONLY = frozenset({Role.PERMIT2})
