"""Build the one frozen, validated configuration: built-in network profile + TOML file + environment."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .errors import OgIndexerError
from .resources import data_dir
from .roles import CONTEXT_ONLY, Role

# The Walrus aggregator OpenGradient's own tools read (mainnet).
WALRUS_AGGREGATOR = "https://aggregator.suicore.com"

ABI_DIR = data_dir("abis")

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")

# Where a watched contract's logs come from (the `logs` key of a contract):
# - "watch": eth_getLogs by its address, every log it emits;
# - "transactions": only the logs it emits in the transactions whose logs our rows read (rows.py,
#   `reads_logs_of`), fetched by eth_getLogs over those transactions' blocks (by block hash) and kept
#   for those transactions only. For a contract others use too, such as the x402 proxies every
#   merchant settles through: what is fetched and stored then grows with OpenGradient's traffic, not
#   with theirs.
LOGS_WATCH = "watch"
LOGS_TRANSACTIONS = "transactions"
LOG_SOURCES = (LOGS_WATCH, LOGS_TRANSACTIONS)


class ConfigError(OgIndexerError, ValueError):
    """The configuration is invalid; the message says which key and why."""


@dataclass(frozen=True)
class Contract:
    """One logical contract: possibly several deployments sharing an ABI and a role."""

    name: str
    role: Role
    addresses: tuple[str, ...]
    abi_files: tuple[str, ...]
    start_block: int = 0
    end_block: int | None = None
    watch: bool = True  # False: known for calldata/ABI, but its logs are not fetched
    logs: str = LOGS_WATCH  # LOGS_WATCH | LOGS_TRANSACTIONS: how a watched contract's logs are fetched

    @property
    def by_get_logs(self) -> bool:
        """Its logs are fetched by eth_getLogs over its address (and it bounds where history begins)."""
        return self.watch and self.logs == LOGS_WATCH

    @property
    def in_read_transactions(self) -> bool:
        """Its logs are taken only in the transactions whose logs our rows read, never by address."""
        return self.watch and self.logs == LOGS_TRANSACTIONS


@dataclass(frozen=True)
class ChainConfig:
    name: str
    chain_id: int
    rpc_urls: tuple[str, ...]
    contracts: tuple[Contract, ...]
    pay_to: tuple[str, ...] = ()
    token_decimals: int = 18
    trusted_relayers: tuple[str, ...] = ()  # empty: every sender of a settlement is trusted
    max_block_range: int = 2000  # first eth_getLogs span; adapts to the provider's cap
    finality_depth: int = 0  # blocks below head that can still reorg
    start_block: int = 0
    # Funding trace labels (issue #14): OpenGradient's own wallets (treasury, faucet, team), token
    # bridges, and DEX pools or routers. Only what is configured is labelled; nothing is guessed.
    insiders: tuple[str, ...] = ()
    bridges: tuple[str, ...] = ()
    markets: tuple[str, ...] = ()

    @property
    def watched_addresses(self) -> tuple[str, ...]:
        """Addresses whose logs are indexed, by eth_getLogs or in the transactions our rows read."""
        return tuple(a for c in self.contracts if c.watch for a in c.addresses)

    def contract_for(self, address: str) -> Contract | None:
        address = address.lower()
        for c in self.contracts:
            if address in c.addresses:
                return c
        return None

    def addresses_with_role(self, role: Role) -> tuple[str, ...]:
        return tuple(a for c in self.contracts if c.role == role for a in c.addresses)


@dataclass(frozen=True)
class Config:
    chains: Mapping[str, ChainConfig]
    database_url: str | None = None
    walrus_urls: tuple[str, ...] = (WALRUS_AGGREGATOR,)  # Walrus aggregators, tried in order

    def chain(self, name: str) -> ChainConfig:
        try:
            return self.chains[name]
        except KeyError:
            raise ConfigError(
                f"unknown chain {name!r}; configured chains: {', '.join(sorted(self.chains))}"
            ) from None



def _c(
    name: str,
    role: Role,
    addresses: list[str],
    abi_files: list[str],
    *,
    watch: bool = True,
    logs: str = LOGS_WATCH,
) -> Contract:
    return Contract(
        name=name,
        role=role,
        addresses=tuple(a.lower() for a in addresses),
        abi_files=tuple(abi_files),
        watch=watch,
        logs=logs,
    )


REGISTRY_ABIS = ["TEERegistry.json", "TEERegistry_historical_variants.json"]

# The real deployment, from shared/reference/opengradient.md (section 2).
OPENGRADIENT = ChainConfig(
    name="opengradient",
    chain_id=10740,
    rpc_urls=("https://ogevmdevnet.opengradient.ai",),
    contracts=(
        _c("tee_registry_v3", Role.TEE_REGISTRY, ["0x703cB174AEadB35D611858369B4b1111dC9Abda6"], REGISTRY_ABIS),
        _c("tee_registry_v2", Role.TEE_REGISTRY, ["0x4e72238852f3c918f4E4e57AeC9280dDB0c80248"], REGISTRY_ABIS),
        _c("tee_registry_v1", Role.TEE_REGISTRY, ["0x3d641a2791533b4a0000345ea8d509d01e1ec301"], REGISTRY_ABIS),
        _c(
            "settlement_relay",
            Role.SETTLEMENT_RELAY,
            ["0xf1dc0d5Dcf2A01924faC78185B9227CF3EC839A5", "0xAa3bB22c5Ef24fe3837134A25A4D801308E2516d"],
            ["InferenceSettlementRelay.json"],
        ),
        _c(
            "settlement_relay_legacy",
            Role.LEGACY_RELAY,
            ["0xDa8B168054F7eaaa71C2016829f0ED1161F947Ef", "0x9Ce828377ed2F94093eB9D6d606Fa8f47fA89A3d"],
            ["SettlementRelay_legacy_v1.json"],
        ),
        _c(
            "inference_precompile",
            Role.INFERENCE_PRECOMPILE,
            ["0x00000000000000000000000000000000000000F4"],
            ["InferencePrecompile_0xF4.json"],
        ),
        _c(
            "inference_hub",
            Role.INFERENCE_HUB,
            ["0x8383C9bD7462F12Eb996DD02F78234C0421A6FaE"],
            ["InferenceHub.json"],
        ),
        _c(
            "workflows",
            Role.WORKFLOW,
            [
                "0xD5629A5b95dde11e4B5772B5Ad8a13B933e33845",
                "0xb4146E095c2CD2a7aA497EdfB513F1cB868Dcc3D",
                "0x58826c6dc9A608238d9d57a65bDd50EcaE27FE99",
                "0xaE12EC7314e91A612CF4Fa4DC07dC02cfCc4dF95",
                "0x90FE6434C46838c96E9ACb8d394C0fdfe38C6182",
                "0xD85BA71f5701dc4C5BDf9780189Db49C6F3708D2",
                "0x3C2E4DbD653Bd30F1333d456480c1b7aB122e946",
            ],
            ["PriceHistoryInference_workflow.json"],
        ),
    ),
    max_block_range=5000,
    finality_depth=0,  # CometBFT: instant finality
)

BASE = ChainConfig(
    name="base",
    chain_id=8453,
    rpc_urls=("https://base-rpc.publicnode.com",),
    contracts=(
        _c(
            "opg_token",
            Role.TOKEN,
            ["0xFbC2051AE2265686a469421b2C5A2D5462FbF5eB"],
            ["OPG_ERC20_Base.json", "EIP3009_extension.json"],
        ),
        _c(
            "x402_upto_proxy",
            Role.X402_UPTO,
            ["0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002"],
            ["x402UptoPermit2Proxy.json"],
            logs=LOGS_TRANSACTIONS,
        ),
        _c(
            "x402_exact_proxy",
            Role.X402_EXACT,
            ["0x402085c248EeA27D92E8b30b2C58ed07f9E20001"],
            ["x402ExactPermit2Proxy.json"],
            logs=LOGS_TRANSACTIONS,
        ),
        # The x402 proxies (above) are shared by every x402 merchant on Base: their logs are read in
        # OpenGradient's payment transactions only (issue #17).
        # Permit2 emits nothing on witness transfers and is busy with every token on Base: not fetched.
        _c(
            "permit2",
            Role.PERMIT2,
            ["0x000000000022D473030F116dDEE9F6B43aC78BA3"],
            ["Permit2.json"],
            watch=False,
        ),
    ),
    pay_to=("0x9deebb5d1b22e4a6e027977cead13893a7e4cc1a",),
    token_decimals=18,
    max_block_range=2000,
    finality_depth=64,
)

BUILTIN: dict[str, ChainConfig] = {OPENGRADIENT.name: OPENGRADIENT, BASE.name: BASE}
RPC_ENV = {"opengradient": "OG_RPC_URL", "base": "BASE_RPC_URL"}
WALRUS_ENV = "OG_WALRUS_URL"


def redact_url(url: str) -> str:
    """Scheme, host and port only: paths, queries and credentials often carry API keys."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    hidden = bool(parts.path.strip("/") or parts.query or parts.username or parts.password)
    return urlunsplit((parts.scheme, host, "/***" if hidden else "", "", ""))


def redact_dsn(dsn: str) -> str:
    """A Postgres URL with its password replaced."""
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return "<unparseable dsn>"
    if not parts.password:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _split_urls(value: str) -> tuple[str, ...]:
    urls = tuple(u.strip() for u in re.split(r"[,\s]+", value) if u.strip())
    for u in urls:
        if not re.match(r"^(https?|wss?)://", u):
            raise ConfigError(f"RPC URL {redact_url(u)!r} must start with http://, https://, ws:// or wss://")
    return urls


def _address_list(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key} must be a list of 0x addresses")
    for v in value:
        if not _ADDRESS.match(v):
            raise ConfigError(f"{key}: {v!r} is not a 20-byte 0x address")
    return tuple(v.lower() for v in value)


def _int(key: str, value: Any, minimum: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{key} must be an integer >= {minimum}, got {value!r}")
    return value


_CHAIN_KEYS = {
    "chain_id",
    "rpc_urls",
    "pay_to",
    "token_decimals",
    "trusted_relayers",
    "max_block_range",
    "finality_depth",
    "start_block",
    "contracts",
    "insiders",
    "bridges",
    "markets",
}
_CONTRACT_KEYS = {"addresses", "start_block", "end_block", "watch", "logs", "role", "abi_files"}


def _role(key: str, value: Any) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ConfigError(f"{key}.role must be one of {', '.join(sorted(Role))}") from None


def _apply_contracts(chain: ChainConfig, table: Mapping[str, Any]) -> tuple[Contract, ...]:
    known = {c.name: c for c in chain.contracts}
    for name, spec in table.items():
        key = f"chains.{chain.name}.contracts.{name}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{key} must be a table")
        unknown = set(spec) - _CONTRACT_KEYS
        if unknown:
            raise ConfigError(f"{key}: unknown key(s) {', '.join(sorted(unknown))}")
        base = known.get(name)
        if base is None:
            if "role" not in spec or "abi_files" not in spec or "addresses" not in spec:
                raise ConfigError(f"{key}: a new contract needs role, abi_files and addresses")
            base = Contract(name=name, role=_role(key, spec["role"]), addresses=(), abi_files=())
        c = base
        if "role" in spec:
            c = replace(c, role=_role(key, spec["role"]))
        if "abi_files" in spec:
            files = spec["abi_files"]
            if not isinstance(files, list) or not files:
                raise ConfigError(f"{key}.abi_files must be a non-empty list of file names in abis/")
            for f in files:
                if not (ABI_DIR / f).is_file():
                    raise ConfigError(f"{key}.abi_files: {f!r} is not a file in {ABI_DIR}")
            c = replace(c, abi_files=tuple(files))
        if "addresses" in spec:
            c = replace(c, addresses=_address_list(f"{key}.addresses", spec["addresses"]))
        if "start_block" in spec:
            c = replace(c, start_block=_int(f"{key}.start_block", spec["start_block"]))
        if "end_block" in spec:
            c = replace(c, end_block=_int(f"{key}.end_block", spec["end_block"]))
        if "watch" in spec:
            if not isinstance(spec["watch"], bool):
                raise ConfigError(f"{key}.watch must be true or false")
            c = replace(c, watch=spec["watch"])
        if "logs" in spec:
            if spec["logs"] not in LOG_SOURCES:
                raise ConfigError(f"{key}.logs must be one of {', '.join(repr(v) for v in LOG_SOURCES)}")
            c = replace(c, logs=spec["logs"])
        known[name] = c
    return tuple(known.values())


def _apply_chain(chain: ChainConfig, table: Mapping[str, Any]) -> ChainConfig:
    unknown = set(table) - _CHAIN_KEYS
    if unknown:
        raise ConfigError(f"chains.{chain.name}: unknown key(s) {', '.join(sorted(unknown))}")
    p = f"chains.{chain.name}"
    changes: dict[str, Any] = {}
    if "chain_id" in table:
        changes["chain_id"] = _int(f"{p}.chain_id", table["chain_id"], 1)
    if "rpc_urls" in table:
        urls = table["rpc_urls"]
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise ConfigError(f"{p}.rpc_urls must be a non-empty list of URLs")
        changes["rpc_urls"] = _split_urls(",".join(urls))
    if "pay_to" in table:
        changes["pay_to"] = _address_list(f"{p}.pay_to", table["pay_to"])
    if "trusted_relayers" in table:
        changes["trusted_relayers"] = _address_list(f"{p}.trusted_relayers", table["trusted_relayers"])
    for key in ("insiders", "bridges", "markets"):
        if key in table:
            changes[key] = _address_list(f"{p}.{key}", table[key])
    if "token_decimals" in table:
        changes["token_decimals"] = _int(f"{p}.token_decimals", table["token_decimals"])
    if "max_block_range" in table:
        changes["max_block_range"] = _int(f"{p}.max_block_range", table["max_block_range"], 1)
    if "finality_depth" in table:
        changes["finality_depth"] = _int(f"{p}.finality_depth", table["finality_depth"])
    if "start_block" in table:
        changes["start_block"] = _int(f"{p}.start_block", table["start_block"])
    chain = replace(chain, **changes)
    if "contracts" in table:
        if not isinstance(table["contracts"], dict):
            raise ConfigError(f"{p}.contracts must be a table of contracts")
        chain = replace(chain, contracts=_apply_contracts(chain, table["contracts"]))
    return chain


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Built-in profile, then the TOML file, then the environment (highest precedence)."""
    env = os.environ if env is None else env
    chains = dict(BUILTIN)
    database_url: str | None = None
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"config file {path} is not valid TOML: {e}") from None
        unknown = set(data) - {"chains", "database_url", "walrus"}
        if unknown:
            raise ConfigError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}")
        if "database_url" in data:
            if not isinstance(data["database_url"], str):
                raise ConfigError("database_url must be a string")
            database_url = data["database_url"]
        for name, table in (data.get("chains") or {}).items():
            if not isinstance(table, dict):
                raise ConfigError(f"chains.{name} must be a table")
            if name not in chains:
                for required in ("chain_id", "rpc_urls"):
                    if required not in table:
                        raise ConfigError(f"chains.{name}: a new chain needs {required}")
                chains[name] = ChainConfig(name=name, chain_id=0, rpc_urls=(), contracts=())
            chains[name] = _apply_chain(chains[name], table)
    walrus_urls = _walrus_urls(data.get("walrus")) if path is not None else None
    if env.get(WALRUS_ENV):
        walrus_urls = split_walrus_urls(env[WALRUS_ENV])
    for name, var in RPC_ENV.items():
        if env.get(var):
            chains[name] = replace(chains[name], rpc_urls=_split_urls(env[var]))
    if env.get("DATABASE_URL"):
        database_url = env["DATABASE_URL"]
    ids = [c.chain_id for c in chains.values()]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"two chains share a chain id: {sorted(ids)}")
    for c in chains.values():
        for contract in c.contracts:
            if contract.watch and contract.role in CONTEXT_ONLY:
                raise ConfigError(
                    f"chains.{c.name}.contracts.{contract.name}: role {contract.role} is context only "
                    "(no handler maps its logs to rows): set watch = false"
                )
    cfg = Config(chains=chains, database_url=database_url)
    return replace(cfg, walrus_urls=walrus_urls) if walrus_urls else cfg


def split_walrus_urls(value: str) -> tuple[str, ...]:
    urls = tuple(u.strip().rstrip("/") for u in re.split(r"[,\s]+", value) if u.strip())
    for u in urls:
        if not re.match(r"^https?://", u):
            raise ConfigError(f"Walrus aggregator URL {redact_url(u)!r} must start with http:// or https://")
    return urls


def _walrus_urls(table: Any) -> tuple[str, ...] | None:
    """[walrus] aggregator_urls = ["https://…", …] (or one comma-separated string)."""
    if table is None:
        return None
    if not isinstance(table, dict) or set(table) - {"aggregator_urls"}:
        raise ConfigError("[walrus] takes one key: aggregator_urls")
    urls = table.get("aggregator_urls")
    if isinstance(urls, str):
        return split_walrus_urls(urls) or None
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise ConfigError("walrus.aggregator_urls must be a non-empty list of URLs")
    return split_walrus_urls(",".join(urls))
