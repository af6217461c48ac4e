"""/health and /metrics per chain: a stopped or stalled chain is unhealthy on its own, lagging node
answers are counted, a stopped chain is a gauge an alert can fire on."""

from __future__ import annotations

from typing import Any

from indexer.config import BASE, OPENGRADIENT
from indexer.follow import Follower, FollowOptions
from indexer.rpc import RpcClient
from indexer.service import health_report, metrics_text


def _follower(chain: Any, **stats: Any) -> Follower:
    f = Follower(RpcClient(["http://127.0.0.1:9"]), None, chain, FollowOptions())  # type: ignore[arg-type]
    for k, v in stats.items():
        setattr(f.stats, k, v)
    return f


def test_a_stopped_chain_is_unhealthy_alone_and_its_gauges_say_so() -> None:
    og = _follower(OPENGRADIENT, head=12, tip=12, lagging=0)
    base = _follower(BASE, head=40, tip=30, lagging=4, stopped="base: reorg below block 25 (deeper than ...)")
    health = health_report([og, base])
    assert health["opengradient"]["healthy"] is True and health["opengradient"]["stopped"] is None
    assert health["base"] == {
        "healthy": False,
        "head": 40,
        "tip": 30,
        "stalled": False,
        "stopped": "base: reorg below block 25 (deeper than ...)",
    }
    lines = set(metrics_text([og, base]).splitlines())
    assert {
        'og_indexer_stopped{chain="opengradient"} 0',
        'og_indexer_stopped{chain="base"} 1',
        'og_indexer_lagging_answers_total{chain="base"} 4',
        'og_indexer_lag_blocks{chain="base"} 10',
    } <= lines


def test_a_stalled_chain_is_unhealthy() -> None:
    assert health_report([_follower(BASE, head=9, tip=3, stalled=True)])["base"]["healthy"] is False
