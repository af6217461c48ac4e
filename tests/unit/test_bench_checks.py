"""The benchmarks against the table declarations: the checker measures every sum a load expects,
and the SQL that fills og tables names declared columns."""

from __future__ import annotations

import re

import pytest

from indexer.tables import TABLES, PaymentRow
from scripts import bench_enrich, bench_load, bench_shapes, bench_views


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


def test_the_benchmarks_generated_rows_name_declared_columns() -> None:
    # bench_views and bench_enrich fill og tables with SQL (generate_series); their column lists are
    # checked here against the declarations rather than at the end of a long run.
    declared = {t.TABLE: set(t.columns()) for t in TABLES}
    sql = bench_views.GENERATE + bench_enrich.SETTLEMENTS
    inserts = re.findall(r"insert into og\.(\w+)\s*\(([^)]*)\)", sql)
    assert len(inserts) == sql.count("insert into og.")  # each with its column list
    for table, columns in inserts:
        assert table in declared, table
        assert {c.strip() for c in columns.split(",")} <= declared[table], table
