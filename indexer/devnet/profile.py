"""What `og-indexer --devnet` changes in the configuration: the running devnet's RPC and aggregator
URLs, its trusted relayer, and the simulated treasury, faucet and DEX pool as funding labels."""

from __future__ import annotations

from dataclasses import replace

from indexer.config import Config, ConfigError
from indexer.devnet.actors import FUNDING_INSIDERS, FUNDING_MARKETS, RELAYER
from indexer.devnet.aggregator import running_url
from indexer.devnet.errors import DevnetError
from indexer.devnet.nodes import STATE_DIR, devnet_urls


def devnet_env(env: dict[str, str]) -> None:
    """Point the RPC URLs (and the Walrus aggregator, when its stand-in runs) at the running devnet,
    unless the environment names others. No devnet running is a configuration error."""
    try:
        urls = devnet_urls()
    except DevnetError as e:
        raise ConfigError(str(e)) from None
    env.setdefault("OG_RPC_URL", urls["opengradient"])
    env.setdefault("BASE_RPC_URL", urls["base"])
    walrus = running_url(STATE_DIR)
    if walrus is not None:
        env.setdefault("OG_WALRUS_URL", walrus)


def devnet_profile(cfg: Config) -> Config:
    """The devnet's settlement relayer is the trusted one (the simulator also sends untrusted batches);
    its treasury and faucet are the Base insiders and its DEX pool the market."""
    og, base = cfg.chain("opengradient"), cfg.chain("base")
    if not og.trusted_relayers:
        og = replace(og, trusted_relayers=(RELAYER,))
    if not (base.insiders or base.markets):  # the simulated treasury, faucet and DEX pool
        base = replace(base, insiders=FUNDING_INSIDERS, markets=FUNDING_MARKETS)
    return replace(cfg, chains={**cfg.chains, "opengradient": og, "base": base})
