"""The benchmark's checker is composed of declared names: every sum a load expects has a measure."""

from __future__ import annotations

import pytest

from indexer.tables import PaymentRow
from scripts import bench_load, bench_shapes


def test_a_column_the_table_does_not_declare_is_refused() -> None:
    assert PaymentRow.column("amount_raw") == "amount_raw"
    with pytest.raises(ValueError, match="payments declares no column 'amount'"):
        PaymentRow.column("amount")


@pytest.mark.parametrize("shape", ["real", "dense-payload", "sparse"])
def test_every_sum_a_load_expects_is_measured(shape: str) -> None:
    load = {
        "real": lambda: bench_load.generate(2000, 1),
        "dense-payload": lambda: bench_shapes.dense_payload(1, blocks=20),
        "sparse": lambda: bench_shapes.sparse(1, blocks=200, gap=10),
    }[shape]()
    expected = {(t, k) for c in load.chains for t, sums in c.expect.items() for k in sums}
    assert expected
    measured = {(t, name) for t, measures in bench_load.CHECKS.items() for name, _ in measures}
    assert expected <= measured
