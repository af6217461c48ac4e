"""Pytest helpers that start anvil devnets: fresh node pairs with emitters, and small simulations.

In a test module: `pytest_plugins = ("devnet_fixtures",)`, then request `devnet` (the session's
pair, reset for the test) or `devnet_pair` (the session's pair as the previous test left it), and
call `pair.simulate(days, seed)` for traffic + ground truth. Import `DevnetPair` under
TYPE_CHECKING only (a runtime import would bypass pytest's assertion rewriting of this module).
`start_pair()` gives a pair of your own (stop it with `pair.stop()`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from indexer.config import BASE, OPENGRADIENT
from indexer.devnet.anvil import AnvilNode, start_chain_pair
from indexer.devnet.anvil_client import AnvilClient
from indexer.devnet.contracts import install_chain
from indexer.devnet.simulate import DEFAULT_START, simulate
from indexer.devnet.truth import GroundTruth


@dataclass(frozen=True)
class DevnetPair:
    """An OpenGradient (10740) and a Base (8453) anvil node on free ports, emitters installed."""

    og: AnvilNode
    base: AnvilNode

    @property
    def urls(self) -> dict[str, str]:
        """RPC URL per chain name, as indexer.config names the chains."""
        return {OPENGRADIENT.name: self.og.url, BASE.name: self.base.url}

    def reset(self) -> None:
        """Back to genesis (anvil_reset), zero base fee, emitters re-installed."""
        for node in (self.og, self.base):
            with AnvilClient(node.url) as rpc:
                rpc.call("anvil_reset", [])
                rpc.call("anvil_setNextBlockBaseFeePerGas", ["0x0"])
                install_chain(rpc)

    def simulate(self, days: int = 2, seed: int = 42, start: str = DEFAULT_START,
                 anomalies: bool = True, foreign_x402: int = 0) -> GroundTruth:
        """Reset both nodes, mine a simulation on them (foreign_x402: other merchants' x402
        settlements per OpenGradient one), return its ground truth."""
        self.reset()
        return simulate(self.og.url, self.base.url, days, seed, start, anomalies=anomalies,
                        foreign_x402=foreign_x402)

    def stop(self) -> None:
        for node in (self.og, self.base):
            node.stop()


def start_pair() -> DevnetPair:
    """Two fresh nodes on free ports with emitters at every configured contract address."""
    og, base = start_chain_pair()
    pair = DevnetPair(og, base)
    for node in (og, base):
        with AnvilClient(node.url) as rpc:
            install_chain(rpc)
    return pair


@pytest.fixture(scope="session")
def devnet_pair() -> Iterator[DevnetPair]:
    pair = start_pair()
    try:
        yield pair
    finally:
        pair.stop()


@pytest.fixture
def devnet(devnet_pair: DevnetPair) -> DevnetPair:
    """The session's node pair, reset to an empty chain for this test."""
    devnet_pair.reset()
    return devnet_pair
