"""Which emitter code goes at which address: every contract of the built-in network profile."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eth_abi.abi import encode as abi_encode

from indexer.config import BASE, OPENGRADIENT, ChainConfig
from indexer.devnet.actors import FOREIGN_TOKEN, FUNDING_CONTRACTS
from indexer.devnet.catalog import WORKFLOW_MODELS
from indexer.devnet.emitter import install
from indexer.devnet.errors import DevnetError

if TYPE_CHECKING:  # web3 is imported only by what talks to a node
    from indexer.devnet.anvil_client import AnvilClient

CHAINS: dict[int, ChainConfig] = {OPENGRADIENT.chain_id: OPENGRADIENT, BASE.chain_id: BASE}


def contract_addresses(chain: ChainConfig) -> tuple[str, ...]:
    """Every configured contract address of the chain, watched or not."""
    return tuple(a for c in chain.contracts for a in c.addresses)


def static_returns(chain: ChainConfig) -> dict[str, bytes]:
    """Answers to plain calls: a workflow's ABI-encoded modelId() string."""
    if chain.chain_id != OPENGRADIENT.chain_id:
        return {}
    return {a: abi_encode(["string"], [m]) for a, m in WORKFLOW_MODELS.items()}


def install_chain(rpc: AnvilClient) -> ChainConfig:
    """Install emitters at every contract address of the profile matching the node's chain id."""
    chain_id = int(rpc.call("eth_chainId"), 16)
    chain = CHAINS.get(chain_id)
    if chain is None:
        raise DevnetError(f"{rpc.url} has chain id {chain_id}; the devnet knows "
                          f"{', '.join(f'{c.name} ({i})' for i, c in CHAINS.items())}")
    # Base: the funding pool and disperser, and the foreign merchants' token
    extra = (*FUNDING_CONTRACTS, FOREIGN_TOKEN) if chain_id == BASE.chain_id else ()
    install(rpc, contract_addresses(chain) + extra, static_returns(chain))
    return chain
