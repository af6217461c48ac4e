"""The simulator's plan and ground truth, computed without a chain (dry-run block numbers)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from indexer.abi import event_map
from indexer.config import BASE, OPENGRADIENT
from indexer.devnet.emitter import split_input
from indexer.devnet.errors import DevnetError
from indexer.devnet.plan import dry_run
from indexer.devnet.simulate import Traffic, ground_truth, parse_start, plan_traffic
from indexer.devnet.truth import GroundTruth


@pytest.fixture(scope="module")
def traffic() -> Traffic:
    return plan_traffic(days=3, seed=5)


@pytest.fixture(scope="module")
def truth(traffic: Traffic) -> GroundTruth:
    return ground_truth(traffic, dry_run(traffic.og_txs, traffic.final_times),
                        dry_run(traffic.base_txs, traffic.final_times))


def test_same_seed_plans_the_same_transactions_and_other_seeds_differ(traffic: Traffic) -> None:
    def inputs(t: Traffic) -> list[tuple[int, str, str, bytes]]:
        return [(x.ts, x.sender, x.to, x.input) for x in t.og_txs + t.base_txs]

    assert inputs(plan_traffic(days=3, seed=5)) == inputs(traffic)
    assert inputs(plan_traffic(days=3, seed=6)) != inputs(traffic)


def test_every_planned_log_is_an_abi_event_of_the_contract_at_its_address(
    traffic: Traffic,
) -> None:
    for chain, txs in ((OPENGRADIENT, traffic.og_txs), (BASE, traffic.base_txs)):
        for tx in txs:
            call, logs = split_input(tx.input)
            assert call == tx.call and logs == tuple(e.log for e in tx.emits)
            for emit in tx.emits:
                if emit.key.startswith("anomaly."):
                    continue
                contract = chain.contract_for(emit.log.address)
                assert contract is not None and contract.watch
                event = event_map(contract.abi_files)["0x" + emit.log.topics[0].hex()]
                assert emit.key == f"{contract.role}.{event.name}"
                assert len(emit.log.topics) == 1 + len(event.indexed)


def test_x402_and_registry_calls_use_the_real_selectors(traffic: Traffic) -> None:
    upto, exact = BASE.addresses_with_role("x402_upto")[0], BASE.addresses_with_role("x402_exact")[0]
    registry = OPENGRADIENT.addresses_with_role("tee_registry")[0]
    selectors = Counter((t.to, t.call[:4].hex()) for t in traffic.base_txs + traffic.og_txs
                        if t.to in (upto, exact, registry) and t.call)
    assert {s for to, s in selectors if to == upto} == {"ff11e7b4", "016c1748"}
    assert {s for to, s in selectors if to == exact} == {"13cd3b53"}
    assert selectors[(registry, "15c9bdb4")] == 8


def test_truth_round_trips_through_json_byte_for_byte(truth: GroundTruth, tmp_path: Path) -> None:
    path = tmp_path / "truth.json"
    truth.write(path)
    again = GroundTruth.read(path)
    assert again == truth
    assert again.to_json() == path.read_bytes()


def test_daily_figures_add_up_to_the_records(truth: GroundTruth) -> None:
    days = truth.daily.values()
    assert list(truth.daily) == ["2026-05-04", "2026-05-05", "2026-05-06"]
    assert sum(d.payments for d in days) == len(truth.x402_payments)
    assert sum(int(d.amount_raw) for d in days) == sum(int(p.amount_raw)
                                                       for p in truth.x402_payments)
    assert sum(d.new_payers for d in days) == len(truth.payers)
    assert sum(d.heartbeats for d in days) == sum(t.heartbeats for t in truth.tees)
    assert sum(d.legacy_inferences for d in days) == sum(
        m.legacy_inferences for m in truth.models.values())
    assert sum(p.payments for p in truth.payers.values()) == len(truth.x402_payments)


def test_start_must_be_a_whole_utc_minute() -> None:
    assert parse_start("2026-05-04") == parse_start("2026-05-04T00:00:00Z") == 1777852800
    assert parse_start("2026-05-04T02:00:00+02:00") == 1777852800
    with pytest.raises(DevnetError, match="whole minute"):
        parse_start("2026-05-04T00:00:30Z")
    with pytest.raises(DevnetError, match="not an ISO"):
        parse_start("yesterday")
    with pytest.raises(DevnetError, match="days"):
        plan_traffic(days=0, seed=1)


def test_foreign_x402_traffic_shares_our_blocks_and_adds_nothing_to_the_truth(traffic: Traffic) -> None:
    from indexer.devnet.actors import EXACT, FOREIGN_TOKEN, UPTO

    crowded = plan_traffic(days=3, seed=5, foreign_x402=10)
    same = [(t.ts, t.sender, t.to, t.call, t.emits, t.facts) for t in traffic.base_txs]
    assert [(t.ts, t.sender, t.to, t.call, t.emits, t.facts) for t in crowded.base_txs] == same
    assert not traffic.foreign_txs
    ours = sum(1 for t in traffic.base_txs if t.to in (UPTO, EXACT))
    assert len(crowded.foreign_txs) == 10 * ours
    assert {t.ts for t in crowded.foreign_txs} <= {t.ts for t in traffic.base_txs}  # no new block
    assert not any(t.facts for t in crowded.foreign_txs)
    assert {e.log.address for t in crowded.foreign_txs for e in t.emits} == {FOREIGN_TOKEN, UPTO, EXACT}
    assert not {t.sender for t in crowded.foreign_txs} & {t.sender for t in traffic.base_txs}  # own facilitators
    kinds = Counter(e.key for t in crowded.foreign_txs for e in t.emits)
    assert kinds["x402_upto.EIP2612PermitFailedWithReason"] > 0 and kinds["foreign.Approval"] > 0
    assert kinds["x402_exact.Settled"] > 0 and kinds["x402_upto.SettledWithPermit"] > 0
    failed = [e.log for t in crowded.foreign_txs for e in t.emits if e.key.endswith("PermitFailedWithReason")]
    token_word = bytes(12) + bytes.fromhex(FOREIGN_TOKEN[2:])
    assert all(token_word in (*g.topics, g.data[:32]) for g in failed)  # the proxy names the foreign token
    dry = dry_run(crowded.base_txs, crowded.final_times)
    assert ground_truth(crowded, dry_run(crowded.og_txs, crowded.final_times), dry).to_json() == ground_truth(
        traffic, dry_run(traffic.og_txs, traffic.final_times), dry_run(traffic.base_txs, traffic.final_times)
    ).to_json()
