"""SpanControl: the eth_getLogs span follows refusals and the density of answers, within the ceiling."""

from __future__ import annotations

from indexer.chain import Log
from indexer.rpc import RangeTooLarge
from indexer.span import GROWTH, PROBE_BLOCKS, TARGET_BYTES, TARGET_LOGS, SpanControl, payload_bytes


def test_without_observations_the_span_is_the_ceiling_as_before() -> None:
    s = SpanControl(2000)
    assert s.span == 2000
    for _ in range(10):
        s.succeeded()
    assert s.span == 2000


def test_a_backfill_probes_before_it_knows_the_density() -> None:
    assert SpanControl(2000, probe=True).span == PROBE_BLOCKS
    assert SpanControl(40, probe=True).span == 40


def test_dense_answers_shrink_the_span_to_the_target_logs_per_call() -> None:
    s = SpanControl(2000, probe=True)
    # 50 logs per block of small logs: 5,000 logs per call is 100 blocks
    assert s.observed(100, 100 * 50, 100 * 50 * 128) == TARGET_LOGS // 50
    s = SpanControl(2000, probe=True)
    assert s.observed(100, 200 * 100, 0) == TARGET_LOGS // 200  # 200 logs per block: 25 blocks


def test_heavy_payloads_shrink_the_span_to_the_target_bytes_per_call() -> None:
    s = SpanControl(2000, probe=True)
    per_block = 10 * 1700 + 40 * 128  # the dense-payload shape: 10 inference events, 40 transfers
    span = s.observed(100, 50 * 100, per_block * 100)
    assert span == min(TARGET_LOGS // 50, TARGET_BYTES // per_block)
    s = SpanControl(2000, probe=True)
    assert s.observed(10, 10, 10 * 1_000_000) == TARGET_BYTES // 1_000_000  # 1 MB per block: 4 blocks


def test_sparse_answers_grow_the_span_back_to_the_ceiling_and_never_beyond() -> None:
    s = SpanControl(5000, probe=True)
    spans = [s.span]
    for _ in range(6):
        spans.append(s.observed(s.span, 0, 0))
    assert spans == [100, 100 * GROWTH, 100 * GROWTH**2, 5000, 5000, 5000, 5000]
    # a dense stretch then a sparse one: down to the target, then back up
    assert s.observed(5000, 5000 * 20, 0) == TARGET_LOGS // 20
    for _ in range(12):
        s.observed(s.span, 0, 0)
    assert s.span == 5000


def test_a_refusal_wins_over_density_and_grows_back_after_successes() -> None:
    s = SpanControl(2000, probe=True)
    s.observed(100, 0, 0)
    s.observed(s.span, 0, 0)
    assert s.span == 1600
    assert s.refused(0, 1599, RangeTooLarge("x", (0, 499), None)) == 500
    s.observed(500, 0, 0)  # sparse, but the provider said 500
    assert s.span == 500
    for _ in range(4):
        s.succeeded()
    assert s.span == 1000
    assert s.refused(0, 999, RangeTooLarge("exceed maximum block range: 300", None, 300)) == 300
    assert s.refused(0, 299, RangeTooLarge("too many results", None, None)) == 150


def test_payload_bytes_counts_data_and_topics() -> None:
    logs = [
        Log(1, "0x" + "aa" * 32, "0x" + "bb" * 32, 0, 0, "0x" + "cc" * 20, ("0x" + "dd" * 32,) * 3, b"\x01" * 64),
        Log(1, "0x" + "aa" * 32, "0x" + "bb" * 32, 0, 1, "0x" + "cc" * 20, ("0x" + "dd" * 32,), b""),
    ]
    assert payload_bytes(logs) == (64 + 96) + 32
