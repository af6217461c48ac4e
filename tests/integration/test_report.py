"""The demand report on a known dataset: exact JSON and CSV contents, and the table's caveats."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from dbutil import scratch_database

from indexer import catalog
from indexer.report import ReportError, build_report, render
from indexer.views import TeeFleetView

pytestmark = pytest.mark.integration

BASE = 8453
OG = 10740
HEAD = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


class Rows:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.n = 0

    async def insert(self, table: str, chain_id: int, when: datetime, **cols: Any) -> None:
        self.n += 1
        await self.conn.execute(
            "insert into og.blocks (chain_id, block_number, block_hash, parent_hash, block_time)"
            " values ($1, $2, $3, '0x', $4)",
            chain_id,
            self.n,
            f"0xb{self.n}",
            when,
        )
        if table == "blocks":
            return
        cols = {
            "chain_id": chain_id,
            "block_number": self.n,
            "block_hash": f"0xb{self.n}",
            "block_time": when,
            "tx_hash": f"0xt{self.n}",
            "log_index": 0,
            **cols,
        }
        names = ", ".join(cols)
        params = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
        await self.conn.execute(f"insert into og.{table} ({names}) values ({params})", *cols.values())

    async def payment(self, payer: str, days_ago: float, amount: str, x402: bool = True) -> None:
        opg = Decimal(amount)
        await self.insert(
            "payments",
            BASE,
            HEAD - timedelta(days=days_ago),
            token="0xopg",
            payer=payer,
            payee="0xpayto",
            amount_raw=opg * 10**18,
            amount_opg=opg,
            is_x402=x402,
        )

    async def settlement(self, kind: str, days_ago: float, size: int = 1, **cols: Any) -> None:
        batch = kind in ("batch", "legacy_batch")
        cols.setdefault("trusted", True)
        await self.insert(
            "settlements",
            OG,
            HEAD - timedelta(days=days_ago),
            relay="0xrelay",
            kind=kind,
            inferences=size if batch else 1,
            batch_size=size if batch else None,
            verified_on_chain=kind == "individual",
            tx_from="0xrelayer",
            **cols,
        )

    async def inference(self, model: str, payer: str, days_ago: float, mode: str) -> None:
        await self.insert(
            "inferences",
            OG,
            HEAD - timedelta(days=days_ago),
            contract="0xf4",
            source="llm_chat",
            event="LLMChat",
            model=model,
            mode_name=mode,
            payer=payer,
        )


@pytest.fixture(scope="module")
async def report_dsn(server_dsn: str) -> AsyncIterator[str]:
    """A scratch database holding one known dataset, shared by this module's read-only tests."""
    async with scratch_database(server_dsn, "ogreport") as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await _load_known_dataset(conn)
        finally:
            await conn.close()
        yield dsn


async def _load_known_dataset(conn: asyncpg.Connection) -> None:
    await catalog.seed(conn)
    r = Rows(conn)
    await r.insert("blocks", BASE, HEAD)
    await r.insert("blocks", OG, HEAD)
    # Payers: 0xaaa pays 6 OPG on two days (one 20 days ago), 0xbbb 3 OPG today, 0xccc 1 OPG
    # 40 days ago (outside 30d); a plain transfer is not a payment.
    await r.payment("0xaaa", 20, "2")
    await r.payment("0xaaa", 1, "4")
    await r.payment("0xbbb", 0.5, "3")
    await r.payment("0xccc", 40, "1")
    await r.payment("0xddd", 1, "100", x402=False)
    # Inferences: 8 in a batch, 2 individual (verified) by one TEE, an untrusted batch of 50.
    await r.settlement("batch", 2, size=8)
    await r.settlement("individual", 2, tee_id="0xtee1")
    await r.settlement("individual", 3, tee_id="0xtee1")
    await r.settlement("batch", 2, size=50, trusted=False)
    # Legacy path: gpt-4.1 (listed) twice by one payer on two days, a ZKML ONNX model.
    await r.inference("openai/gpt-4.1-2025-04-14", "0xuser", 5, "TEE")
    await r.inference("GPT-4.1-2025-04-14", "0xuser", 4, "TEE")
    await r.inference("QmOnnxModel", "0xuser2", 10, "ZKML")
    await conn.execute(
        "insert into og.tees (chain_id, registry, tee_id, owner, tee_type, enabled,"
        " registered_at, last_heartbeat_at, heartbeats) values"
        " (10740, '0xreg', '0xtee1', '0xowner', 0, true, $1, $2, 100),"
        " (10740, '0xreg', '0xtee2', '0xowner', 0, true, $1, $3, 10)",
        HEAD - timedelta(days=30),
        HEAD - timedelta(seconds=600),
        HEAD - timedelta(hours=5),
    )


@pytest.fixture
async def conn(report_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(report_dsn)
    try:
        yield c
    finally:
        await c.close()


async def test_report_json_on_a_known_dataset(conn: asyncpg.Connection) -> None:
    data = json.loads(render(await build_report(conn, "7d"), "json"))

    assert data["window"] == "7d"
    assert data["anchors"] == {
        "payments_head_at": "2026-06-30T12:00:00+00:00",
        "inference_head_at": "2026-06-30T12:00:00+00:00",
    }
    assert data["payments"] == {
        "payments": 2,
        "payers": 2,
        "new_payers": 1,
        "returning_payers": 1,
        "returning_share": 0.5,
        "revenue_opg": "7",
        "top_payers": [
            {
                "payer": "0xaaa",
                "payments": 1,
                "revenue_opg": "4",
                "share": 0.571429,
                "active_days": 2,
                "returning": True,
            },
            {
                "payer": "0xbbb",
                "payments": 1,
                "revenue_opg": "3",
                "share": 0.428571,
                "active_days": 1,
                "returning": False,
            },
        ],
    }
    assert data["concentration"] == {
        "payers": 2,
        "revenue_opg": "7",
        "top1_share": 0.571429,
        "top10_share": 1.0,
        "hhi": 0.510204,  # (4/7)^2 + (3/7)^2 = 25/49
    }
    assert data["verification"] == {
        "settled_inferences": 10,
        "verified_inferences": 2,
        "verified_share": 0.2,
        "batch_inferences": 8,
        "individual_inferences": 2,
        "legacy_inferences": 0,
        "legacy_path_inferences": 2,
        "legacy_path_verified_inferences": 2,
    }
    assert data["models"] == {
        "listed_models": 48,
        "used_models": 2,
        "active_models": 1,
        "listed_never_used": 47,
        "used_not_listed": 1,
        "active_share_30d": 0.020833,  # 1 of 48 listed
        "attributed_share": 0.230769,  # 3 of 13 inferences name a model
        "top": [
            {
                "model": None,
                "attribution": "unattributed",
                "inferences": 10,
                "payers": None,
                "listed": None,
            },
            {
                "model": "gpt-4.1-2025-04-14",
                "attribution": "legacy_inference",
                "inferences": 2,
                "payers": 1,
                "listed": True,
            },
        ],
    }
    assert data["fleet"]["tees"] == 2
    assert data["fleet"]["live"] == 1
    assert [(t["tee_id"], t["live"], t["individual_settlements"]) for t in data["fleet"]["tee_lines"]] == [
        ("0xtee1", True, 2),
        ("0xtee2", False, 0),
    ]
    # Weeks (Mondays): 0xccc 2026-05-18, 0xaaa 06-08 then 06-29, 0xbbb 06-29; head week 06-29.
    assert [(c["cohort_week"], c["cohort_size"], c["active_payers"]) for c in data["retention"]] == [
        ("2026-05-18", 1, [1, 0, 0, 0, 0, 0, 0]),
        ("2026-06-08", 1, [1, 0, 0, 1]),
        ("2026-06-29", 1, [1]),
    ]
    assert any("unattributed" in c and "76.9%" in c for c in data["caveats"])


async def test_report_all_window_counts_every_payer(conn: asyncpg.Connection) -> None:
    data = json.loads(render(await build_report(conn, "all"), "json"))
    assert (data["payments"]["payers"], data["payments"]["revenue_opg"]) == (3, "10")
    assert data["payments"]["returning_payers"] == 1
    assert data["models"]["active_models"] == 2
    assert [m["inferences"] for m in data["models"]["top"]] == [10, 2, 1]


async def test_report_csv_on_a_known_dataset(conn: asyncpg.Connection) -> None:
    text = render(await build_report(conn, "30d"), "csv")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["section", "item", "metric", "value"]
    cells = {(s, i, m): v for s, i, m, v in table[1:]}
    assert cells[("report", "", "window")] == "30d"
    assert cells[("payments", "", "payers")] == "2"
    assert cells[("payments", "", "revenue_opg")] == "9"
    assert cells[("top_payers", "0xaaa", "revenue_opg")] == "6"
    assert cells[("top_payers", "0xaaa", "returning")] == "true"
    assert cells[("concentration", "", "top1_share")] == "0.666667"
    assert cells[("verification", "", "verified_share")] == "0.200000"
    assert cells[("top_models", "unattributed:", "payers")] == ""
    assert cells[("top_models", "legacy_inference:qmonnxmodel", "inferences")] == "1"
    assert cells[("retention", "2026-06-08", "week_3_active_payers")] == "1"
    assert cells[("tees", "0xreg:0xtee2", "live")] == "false"
    assert cells[("fleet", "", "live")] == "1"
    assert cells[("caveats", "2", "text")].startswith("No on-chain field links a Base payment")


async def test_report_table_states_the_attribution_caveat(conn: asyncpg.Connection) -> None:
    text = render(await build_report(conn, "7d"), "table")
    assert "OpenGradient demand report - window 7d" in text
    assert "Caveats" in text
    assert "never spread over models" in " ".join(text.split())
    assert "0xaaa" in text and "(no model on-chain)" in text


async def test_report_rejects_an_unknown_window_or_format(conn: asyncpg.Connection) -> None:
    with pytest.raises(ReportError, match="window '1y'"):
        await build_report(conn, "1y")
    report = await build_report(conn, "all")
    with pytest.raises(ReportError, match="format 'xml'"):
        render(report, "xml")


async def test_report_on_an_empty_database(server_dsn: str) -> None:
    async with scratch_database(server_dsn, "ogreport_empty") as dsn:
        c = await asyncpg.connect(dsn)
        try:
            report = await build_report(c, "7d")
            data = json.loads(render(report, "json"))
            assert data["payments"]["payers"] == 0
            assert data["payments"]["revenue_opg"] == "0"
            assert data["concentration"]["hhi"] is None
            assert data["retention"] == []
            assert "No inference is indexed yet" in data["caveats"][0]
            assert "window 7d" in render(report, "table")
            assert render(report, "csv").startswith("section,item,metric,value\n")
        finally:
            await c.close()


async def test_report_json_and_csv_carry_the_walrus_section(conn: asyncpg.Connection) -> None:
    report = await build_report(conn, "all")
    data = json.loads(render(report, "json"))
    # One batch and two individual trusted settlements, no payload fetched yet.
    assert [(p["kind"], p["settlements"], p["not_fetched"], p["retrievable_consistent_share"])
            for p in data["walrus"]["proofs"]] == [("batch", 1, 1, 0.0), ("individual", 2, 2, 0.0)]
    assert data["walrus"]["models"] == []
    cells = {(s, i, m): v for s, i, m, v in list(csv.reader(io.StringIO(render(report, "csv"))))[1:]}
    assert cells[("walrus_proofs", "individual", "settlements")] == "2"
    assert cells[("walrus_proofs", "batch", "retrievable_consistent_share")] == "0.000000"
    # TEE lines are og.tee_fleet's rows, every column.
    assert list(data["fleet"]["tee_lines"][0]) == list(TeeFleetView.columns())
