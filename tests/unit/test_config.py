"""Configuration: built-in profile, TOML and environment overrides, validation errors, redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.config import ConfigError, load_config, redact_dsn, redact_url


def test_builtin_profile_has_the_real_deployment() -> None:
    cfg = load_config(None, {})
    og, base = cfg.chain("opengradient"), cfg.chain("base")
    assert (og.chain_id, base.chain_id) == (10740, 8453)
    assert og.rpc_urls == ("https://ogevmdevnet.opengradient.ai",)
    assert "0xf1dc0d5dcf2a01924fac78185b9227cf3ec839a5" in og.addresses_with_role("settlement_relay")
    assert base.pay_to == ("0x9deebb5d1b22e4a6e027977cead13893a7e4cc1a",)
    assert "0x000000000022d473030f116ddee9f6b43ac78ba3" not in base.watched_addresses  # Permit2 not fetched
    assert cfg.database_url is None


def test_environment_overrides_rpc_urls_with_several_urls_and_database(tmp_path: Path) -> None:
    cfg = load_config(
        None,
        {
            "OG_RPC_URL": "http://a:1, http://b:2",
            "BASE_RPC_URL": "wss://c/key",
            "DATABASE_URL": "postgresql://x/y",
        },
    )
    assert cfg.chain("opengradient").rpc_urls == ("http://a:1", "http://b:2")
    assert cfg.chain("base").rpc_urls == ("wss://c/key",)
    assert cfg.database_url == "postgresql://x/y"


def test_toml_overrides_and_adds_contracts(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text(
        """
[chains.base]
rpc_urls = ["http://127.0.0.1:9"]
pay_to = ["0x9deEBB5D1b22e4a6e027977CeAd13893A7E4cC1a", "0x40eFb45552EDfB2502D90A657a8ab41F03ec460d"]
max_block_range = 500
[chains.opengradient]
trusted_relayers = ["0x1111111111111111111111111111111111111111"]
[chains.opengradient.contracts.settlement_relay]
start_block = 100
"""
    )
    cfg = load_config(f, {"BASE_RPC_URL": "http://env:1"})
    base = cfg.chain("base")
    assert base.rpc_urls == ("http://env:1",)  # environment wins over the file
    assert len(base.pay_to) == 2 and base.max_block_range == 500
    og = cfg.chain("opengradient")
    assert og.trusted_relayers == ("0x1111111111111111111111111111111111111111",)
    assert next(c for c in og.contracts if c.name == "settlement_relay").start_block == 100


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[chains.base]\nmax_block_range = 0", "max_block_range must be an integer >= 1"),
        ("[chains.base]\npay_to = ['0x12']", "not a 20-byte 0x address"),
        ("[chains.base]\nrpc_urls = ['ftp://x']", "must start with http"),
        ("[chains.base]\nbogus = 1", "unknown key(s) bogus"),
        ("[chains.base.contracts.x]\naddresses = []", "needs role, abi_files and addresses"),
        ("[chains.base.contracts.opg_token]\nabi_files = ['nope.json']", "is not a file"),
        ("[chains.base]\nchain_id = 10740", "two chains share a chain id"),
        ("nonsense = = 1", "not valid TOML"),
    ],
)
def test_invalid_config_gives_a_clear_error(tmp_path: Path, toml: str, message: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(toml)
    with pytest.raises(ConfigError) as e:
        load_config(f, {})
    assert message in str(e.value)


def test_missing_file_and_unknown_chain() -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(Path("/nonexistent.toml"), {})
    with pytest.raises(ConfigError, match="unknown chain 'eth'"):
        load_config(None, {}).chain("eth")


def test_secrets_are_redacted() -> None:
    assert redact_url("https://base.example.com/v2/SECRETKEY?x=1") == "https://base.example.com/***"
    assert redact_url("http://127.0.0.1:8545") == "http://127.0.0.1:8545"
    assert redact_url("https://user:pw@host/") == "https://host/***"
    assert redact_dsn("postgresql://u:hunter2@db:5432/og") == "postgresql://u:***@db:5432/og"


def test_funding_labels_come_from_the_base_table_and_bad_addresses_are_named(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text(
        '[chains.base]\ninsiders = ["0x' + "AB" * 20 + '"]\nmarkets = ["0x' + "cd" * 20 + '"]\n'
    )
    base = load_config(f, {}).chain("base")
    assert (base.insiders, base.markets, base.bridges) == (("0x" + "ab" * 20,), ("0x" + "cd" * 20,), ())
    assert load_config(None, {}).chain("base").insiders == ()  # nothing is labelled by default
    f.write_text('[chains.base]\nbridges = ["0x12"]\n')
    with pytest.raises(ConfigError, match=r"chains\.base\.bridges: '0x12' is not a 20-byte 0x address"):
        load_config(f, {})


def test_the_x402_proxies_are_read_in_our_transactions_only_and_toml_can_say_otherwise(tmp_path: Path) -> None:
    base = load_config(None, {}).chain("base")
    by_role = {c.role: c for c in base.contracts}
    assert by_role["x402_upto"].in_read_transactions and by_role["x402_exact"].in_read_transactions
    assert by_role["token"].by_get_logs and not by_role["token"].in_read_transactions
    assert not by_role["permit2"].by_get_logs and not by_role["permit2"].in_read_transactions  # not watched
    f = tmp_path / "c.toml"
    f.write_text('[chains.base.contracts.x402_upto_proxy]\nlogs = "watch"\n')
    upto = next(c for c in load_config(f, {}).chain("base").contracts if c.name == "x402_upto_proxy")
    assert upto.by_get_logs and not upto.in_read_transactions
    f.write_text('[chains.base.contracts.x402_upto_proxy]\nlogs = "everything"\n')
    with pytest.raises(ConfigError, match=r"chains.base.contracts.x402_upto_proxy.logs must be one of 'watch', 'tr"):
        load_config(f, {})
