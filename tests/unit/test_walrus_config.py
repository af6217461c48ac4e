"""Walrus aggregator URLs: built-in default, [walrus] in the TOML file, OG_WALRUS_URL wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.config import WALRUS_AGGREGATOR, ConfigError, load_config


def test_default_is_the_aggregator_opengradients_tools_read() -> None:
    assert load_config(None, {}).walrus_urls == (WALRUS_AGGREGATOR,) == ("https://aggregator.suicore.com",)


def test_file_then_environment(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('[walrus]\naggregator_urls = ["https://a.example/", "http://127.0.0.1:9000"]\n')
    assert load_config(f, {}).walrus_urls == ("https://a.example", "http://127.0.0.1:9000")
    env = {"OG_WALRUS_URL": "https://b.example, https://c.example"}
    assert load_config(f, env).walrus_urls == ("https://b.example", "https://c.example")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('[walrus]\naggregator_urls = ["ftp://x"]\n', "must start with http"),
        ("[walrus]\naggregator_urls = []\n", "non-empty list"),
        ('[walrus]\nurls = ["https://x"]\n', "one key"),
    ],
)
def test_bad_walrus_config_is_one_clear_error(tmp_path: Path, text: str, error: str) -> None:
    f = tmp_path / "c.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=error):
        load_config(f, {})
