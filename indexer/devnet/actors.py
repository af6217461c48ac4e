"""Addresses of the simulated actors: fixed infrastructure EOAs and seeded random users."""

from __future__ import annotations

import random

from eth_utils.crypto import keccak

from indexer.config import BASE, OPENGRADIENT
from indexer.roles import Role


def label_address(label: str) -> str:
    """A fixed EOA for a role, the same for every seed (so it can go into a config file)."""
    return "0x" + keccak(text=f"og-devnet:{label}")[-20:].hex()


def random_address(rng: random.Random) -> str:
    return "0x" + rng.randbytes(20).hex()


def random_word(rng: random.Random) -> bytes:
    return rng.randbytes(32)


# OpenGradient chain
RELAYER = label_address("relayer")  # sends settlements and relays heartbeats (trusted)
OG_ADMIN = label_address("registry-admin")  # adds TEE types, approves PCRs, enables/disables TEEs
STRANGER = label_address("stranger")  # calls batchSettle without being a relayer (untrusted)
REGISTRY = OPENGRADIENT.addresses_with_role(Role.TEE_REGISTRY)[0]  # v3, current
RELAY = OPENGRADIENT.addresses_with_role(Role.SETTLEMENT_RELAY)[0]  # v4, current
LEGACY_RELAY = OPENGRADIENT.addresses_with_role(Role.LEGACY_RELAY)[0]
PRECOMPILE = OPENGRADIENT.addresses_with_role(Role.INFERENCE_PRECOMPILE)[0]
HUB = OPENGRADIENT.addresses_with_role(Role.INFERENCE_HUB)[0]

# Base
FACILITATORS = (label_address("facilitator-1"), label_address("facilitator-2"))
TOKEN = BASE.addresses_with_role(Role.TOKEN)[0]
UPTO = BASE.addresses_with_role(Role.X402_UPTO)[0]
EXACT = BASE.addresses_with_role(Role.X402_EXACT)[0]
PERMIT2 = BASE.addresses_with_role(Role.PERMIT2)[0]
PAY_TO = BASE.pay_to[0]
DEX_ROUTER = label_address("dex-router")  # a non-Permit2 spender for ordinary approvals

# Base: where payers' OPG comes from (the funding trace, issue #14). Insiders and the pool go into
# the devnet profile's [chains.base] insiders / markets; the disperser is a contract nobody labels.
TREASURY = label_address("treasury")  # OpenGradient's treasury (insider)
FAUCET = label_address("faucet")  # OpenGradient's faucet (insider)
DEX_POOL = label_address("dex-pool")  # a DEX-like pool contract (market)
DISPERSER = label_address("disperser")  # an airdrop/disperse contract (unlabelled: class contract)
DISPERSER_OWNER = label_address("disperser-owner")
BRIDGE_RELAYER = label_address("bridge-relayer")  # sends the bridge's mints (Transfer from 0x0)
FUNDING_INSIDERS = (TREASURY, FAUCET)
FUNDING_MARKETS = (DEX_POOL,)
FUNDING_CONTRACTS = (DEX_POOL, DISPERSER)  # emitter code at these on Base

# Base: other merchants' x402 traffic (issue #17). They settle through the same upto and exact proxies
# as OpenGradient, in a USDC-like token of 6 decimals (emitter code at its address), to their own
# payTo addresses, sent by their own facilitators. None of it is OpenGradient's.
FOREIGN_TOKEN = label_address("foreign-usdc")
FOREIGN_TOKEN_DECIMALS = 6
FOREIGN_FACILITATORS = tuple(label_address(f"foreign-facilitator-{i}") for i in range(1, 4))
