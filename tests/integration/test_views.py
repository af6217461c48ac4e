"""The og views on hand-built rows: each edge case of the demand semantics, with exact values."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from dbutil import scratch_database

from indexer import catalog

pytestmark = pytest.mark.integration

BASE = 8453
OG = 10740
VIEWS_DIR = Path(__file__).resolve().parents[2] / "sql" / "views"
VIEWS = ["og." + p.stem.split("_", 1)[1] for p in sorted(VIEWS_DIR.glob("*.sql"))]


def at(text: str) -> datetime:
    """'2026-06-01 12:00:00' in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
async def views_dsn(server_dsn: str) -> AsyncIterator[str]:
    """One scratch database for this module, migrated once; each test runs in a rolled-back
    transaction on it."""
    async with scratch_database(server_dsn, "ogviews") as dsn:
        yield dsn


@pytest.fixture
async def conn(views_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(views_dsn)
    tr = c.transaction()
    await tr.start()
    try:
        yield c
    finally:
        await tr.rollback()
        await c.close()


class Chain:
    """Inserts og rows directly, one block per row, with every provenance column filled."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._numbers = {BASE: itertools.count(1), OG: itertools.count(1)}
        self._tx = itertools.count(1)

    async def block(self, chain_id: int, when: datetime) -> tuple[int, str]:
        number = next(self._numbers[chain_id])
        block_hash = f"0x{chain_id:x}{number:060x}"
        await self.conn.execute(
            "insert into og.blocks (chain_id, block_number, block_hash, parent_hash, block_time)"
            " values ($1, $2, $3, $4, $5)",
            chain_id,
            number,
            block_hash,
            f"0xparent{number}",
            when,
        )
        return number, block_hash

    async def head(self, chain_id: int, when: datetime) -> None:
        """A checkpoint block with no rows: moves the chain's latest indexed block time."""
        await self.block(chain_id, when)

    async def _event(self, table: str, chain_id: int, when: datetime, **cols: Any) -> None:
        number, block_hash = await self.block(chain_id, when)
        cols = {
            "chain_id": chain_id,
            "block_number": number,
            "block_hash": block_hash,
            "block_time": when,
            "tx_hash": f"0xtx{next(self._tx)}",
            "log_index": 0,
            **cols,
        }
        names = ", ".join(cols)
        params = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
        await self.conn.execute(f"insert into og.{table} ({names}) values ({params})", *cols.values())

    async def payment(self, payer: str, when: datetime, amount: str = "1", *, x402: bool = True) -> None:
        opg = Decimal(amount)
        await self._event(
            "payments",
            BASE,
            when,
            token="0xopg",
            payer=payer,
            payee="0xpayto",
            amount_raw=opg * 10**18,
            amount_opg=opg,
            is_x402=x402,
            scheme="upto" if x402 else None,
        )

    async def settlement(
        self,
        kind: str,
        when: datetime,
        *,
        size: int | None = None,
        trusted: bool = True,
        tee: str | None = None,
        model: str | None = None,
    ) -> None:
        batch = kind in ("batch", "legacy_batch")
        await self._event(
            "settlements",
            OG,
            when,
            relay="0xrelay",
            kind=kind,
            inferences=(size or 1) if batch else 1,
            batch_size=(size or 1) if batch else None,
            tee_id=tee,
            verified_on_chain=kind == "individual",
            model=model,
            tx_from="0xrelayer" if trusted else "0xstranger",
            trusted=trusted,
        )

    async def inference(self, model: str | None, payer: str, when: datetime, mode_name: str = "VANILLA") -> None:
        await self._event(
            "inferences",
            OG,
            when,
            contract="0xf4",
            source="llm_chat",
            event="LLMChat",
            model=model,
            mode={"VANILLA": 0, "TEE": 1, "ZKML": 1}[mode_name],
            mode_name=mode_name,
            payer=payer,
        )

    async def heartbeat(self, tee: str, when: datetime) -> None:
        await self._event(
            "tee_events",
            OG,
            when,
            registry="0xregistry",
            event="HeartbeatReceived",
            tee_id=tee,
            heartbeat_timestamp=int(when.timestamp()),
            args="{}",
        )

    async def tee(
        self,
        tee: str,
        *,
        enabled: bool,
        registered_at: datetime,
        last_heartbeat_at: datetime | None,
        heartbeats: int,
        tee_type: int = 0,
    ) -> None:
        await self.conn.execute(
            "insert into og.tees (chain_id, registry, tee_id, owner, tee_type, enabled,"
            " registered_at, last_heartbeat_at, heartbeats) values ($1, $2, $3, $4, $5, $6, $7,"
            " $8, $9)",
            OG,
            "0xregistry",
            tee,
            "0xowner",
            tee_type,
            enabled,
            registered_at,
            last_heartbeat_at,
            heartbeats,
        )


@pytest.fixture
def chain(conn: asyncpg.Connection) -> Chain:
    return Chain(conn)


def q(value: Decimal | int | None) -> Decimal | None:
    """A share to 15 decimal places: Postgres divides numerics to 20, Python to 28."""
    return None if value is None else Decimal(value).quantize(Decimal("1e-15"))


def share(a: int, b: int) -> Decimal | None:
    return q(Decimal(a) / Decimal(b))


async def rows(conn: asyncpg.Connection, sql: str, *args: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(sql, *args)]


async def one(conn: asyncpg.Connection, sql: str, *args: Any) -> dict[str, Any]:
    found = await rows(conn, sql, *args)
    assert len(found) == 1, found
    return found[0]


# --- payments ----------------------------------------------------------------------------------


async def test_two_payments_by_one_payer_on_the_same_day_are_not_returning(
    conn: asyncpg.Connection, chain: Chain
) -> None:
    await chain.payment("0xa", at("2026-06-01 01:00:00"), "2")
    await chain.payment("0xa", at("2026-06-01 23:00:00"), "3")

    stats = await one(conn, "select * from og.payer_stats")
    assert stats["payments"] == 2
    assert stats["active_days"] == 1
    assert stats["total_opg"] == Decimal("5")
    assert stats["returning"] is False
    day = await one(conn, "select * from og.daily_activity")
    assert (day["day"], day["payments"], day["payers"]) == (date(2026, 6, 1), 2, 1)
    assert (day["new_payers"], day["returning_payers"]) == (1, 0)
    assert day["revenue_opg"] == Decimal("5")


async def test_payments_either_side_of_utc_midnight_are_returning(conn: asyncpg.Connection, chain: Chain) -> None:
    await chain.payment("0xa", at("2026-06-01 23:59:59"), "1")
    await chain.payment("0xa", at("2026-06-02 00:00:01"), "1")

    stats = await one(conn, "select * from og.payer_stats")
    assert (stats["active_days"], stats["returning"]) == (2, True)
    assert stats["first_payment_at"] == at("2026-06-01 23:59:59")
    assert stats["last_payment_at"] == at("2026-06-02 00:00:01")
    days = await rows(conn, "select day, payers, new_payers, returning_payers from og.daily_activity")
    assert days == [
        {"day": date(2026, 6, 1), "payers": 1, "new_payers": 1, "returning_payers": 0},
        {"day": date(2026, 6, 2), "payers": 1, "new_payers": 0, "returning_payers": 1},
    ]


async def test_day_boundaries_are_utc_whatever_the_session_time_zone(conn: asyncpg.Connection, chain: Chain) -> None:
    await conn.execute("set local time zone 'America/Los_Angeles'")
    await chain.payment("0xa", at("2026-06-01 23:59:59"))
    await chain.payment("0xa", at("2026-06-02 00:00:01"))
    days = [r["day"] for r in await rows(conn, "select day from og.daily_activity")]
    assert days == [date(2026, 6, 1), date(2026, 6, 2)]
    retention = await rows(conn, "select cohort_week from og.payer_retention")
    assert {r["cohort_week"] for r in retention} == {date(2026, 6, 1)}


async def test_plain_opg_transfer_to_payto_outside_x402_is_not_a_payment(
    conn: asyncpg.Connection, chain: Chain
) -> None:
    await chain.payment("0xa", at("2026-06-01 10:00:00"), "7", x402=False)

    assert await rows(conn, "select * from og.payer_stats") == []
    assert await rows(conn, "select * from og.daily_activity") == []
    assert await rows(conn, "select * from og.payer_retention") == []
    conc = await one(conn, "select * from og.demand_concentration where \"window\" = 'all'")
    assert (conc["payers"], conc["revenue_opg"]) == (0, Decimal(0))
    summary = await one(conn, "select * from og.window_summary where \"window\" = 'all'")
    assert (summary["payments"], summary["revenue_opg"]) == (0, Decimal(0))


async def test_private_mode_session_has_a_payment_but_no_settlement(conn: asyncpg.Connection, chain: Chain) -> None:
    # Private mode: the session is paid on Base, nothing is settled on OpenGradient.
    await chain.payment("0xa", at("2026-06-01 10:00:00"), "0.1")
    await chain.head(OG, at("2026-06-01 12:00:00"))

    day = await one(conn, "select * from og.daily_activity")
    assert (day["payments"], day["revenue_opg"]) == (1, Decimal("0.1"))
    assert (day["settled_inferences"], day["verified_inferences"], day["batches"]) == (0, 0, 0)
    assert await rows(conn, "select * from og.verification_coverage") == []
    assert await rows(conn, "select * from og.model_usage") == []
    summary = await one(conn, "select * from og.window_summary where \"window\" = 'all'")
    assert (summary["payments"], summary["settled_inferences"]) == (1, 0)
    assert summary["verified_share"] is None


async def test_retention_cohorts(conn: asyncpg.Connection, chain: Chain) -> None:
    # 2026-06-01 is a Monday. Cohort of week 06-01: a, b, c; of week 06-08: d.
    await chain.payment("0xa", at("2026-06-01 10:00:00"))
    await chain.payment("0xb", at("2026-06-03 10:00:00"))
    await chain.payment("0xc", at("2026-06-07 23:59:59"))  # Sunday: still week 06-01
    await chain.payment("0xa", at("2026-06-08 00:00:00"))  # week +1
    await chain.payment("0xb", at("2026-06-10 10:00:00"))  # week +1
    await chain.payment("0xd", at("2026-06-09 10:00:00"))
    await chain.payment("0xa", at("2026-06-16 10:00:00"))  # week +2
    await chain.payment("0xa", at("2026-06-17 10:00:00"))  # same week, counted once
    await chain.head(BASE, at("2026-06-24 08:00:00"))  # head in week 06-22: offsets run to it

    got = await rows(
        conn,
        "select cohort_week, week_offset, cohort_size, active_payers, retention from og.payer_retention",
    )
    w1, w2 = date(2026, 6, 1), date(2026, 6, 8)
    assert [(r["cohort_week"], r["week_offset"], r["cohort_size"], r["active_payers"]) for r in got] == [
        (w1, 0, 3, 3),
        (w1, 1, 3, 2),
        (w1, 2, 3, 1),
        (w1, 3, 3, 0),
        (w2, 0, 1, 1),
        (w2, 1, 1, 0),
        (w2, 2, 1, 0),
    ]
    assert [q(r["retention"]) for r in got] == [
        share(*x) for x in [(1, 1), (2, 3), (1, 3), (0, 1), (1, 1), (0, 1), (0, 1)]
    ]


async def test_concentration_top1_top10_and_hhi_on_a_known_distribution(conn: asyncpg.Connection, chain: Chain) -> None:
    # 12 payers: 0xp0 pays 50, 0xp1 30, the other ten 2 each (total 100).
    when = at("2026-06-01 12:00:00")
    await chain.payment("0xp0", when, "50")
    await chain.payment("0xp1", when, "20")
    await chain.payment("0xp1", when, "10")
    for i in range(2, 12):
        await chain.payment(f"0xp{i:02d}", when, "2")

    conc = await one(conn, "select * from og.demand_concentration where \"window\" = 'all'")
    assert conc["payers"] == 12
    assert conc["revenue_opg"] == Decimal(100)
    assert conc["top1_share"] == Decimal("0.5")
    # top 10 = 50 + 30 + eight payers of 2 = 96
    assert conc["top10_share"] == Decimal("0.96")
    # 0.5^2 + 0.3^2 + 10 * 0.02^2
    assert conc["hhi"] == Decimal("0.344")
    windows = await rows(conn, 'select "window" from og.demand_concentration')
    assert [r["window"] for r in windows] == ["7d", "30d", "all"]


async def test_windows_are_anchored_at_the_latest_indexed_block_time_not_now(
    conn: asyncpg.Connection, chain: Chain
) -> None:
    # Years in the past: anchored at now() every rolling window would be empty.
    await chain.payment("0xa", at("2020-01-01 12:00:00"), "1")  # 40 days before the head
    await chain.payment("0xb", at("2020-01-25 12:00:00"), "2")  # 16 days before
    await chain.payment("0xc", at("2020-02-09 12:00:01"), "4")  # inside 7d, by one second
    await chain.payment("0xc", at("2020-02-09 12:00:00"), "8")  # exactly 7 days: outside
    await chain.head(BASE, at("2020-02-16 12:00:00"))
    await chain.settlement("batch", at("2020-02-15 00:00:00"), size=5)
    await chain.settlement("batch", at("2020-01-20 00:00:00"), size=7)
    await chain.inference("gpt-4", "0xa", at("2020-02-15 00:00:00"))
    await chain.head(OG, at("2020-02-16 00:00:00"))

    conc = {
        r["window"]: (r["payers"], r["revenue_opg"]) for r in await rows(conn, "select * from og.demand_concentration")
    }
    assert conc == {
        "7d": (1, Decimal(4)),
        "30d": (2, Decimal(14)),
        "all": (3, Decimal(15)),
    }
    c = await one(conn, "select * from og.payer_stats where payer = '0xc'")
    assert (c["payments_7d"], c["total_opg_7d"], c["payments_30d"]) == (1, Decimal(4), 2)
    summary = {r["window"]: r["settled_inferences"] for r in await rows(conn, "select * from og.window_summary")}
    assert summary == {"7d": 5, "30d": 12, "all": 12}
    heads = await rows(conn, "select chain_id, head_time from og.chain_heads order by 1")
    assert heads == [
        {"chain_id": BASE, "head_time": at("2020-02-16 12:00:00")},
        {"chain_id": OG, "head_time": at("2020-02-16 00:00:00")},
    ]
    usage = await one(conn, "select * from og.model_usage where model = 'gpt-4'")
    assert (usage["inferences_7d"], usage["inferences_30d"]) == (1, 1)
    cat = await one(conn, "select * from og.catalog_vs_usage")
    assert (cat["active_models_7d"], cat["active_models_30d"]) == (1, 1)


# --- settlements and verification --------------------------------------------------------------


async def test_settled_and_verified_inferences_per_day(conn: asyncpg.Connection, chain: Chain) -> None:
    day = at("2026-06-01 00:00:00")
    await chain.settlement("batch", day + timedelta(hours=1), size=20)
    await chain.settlement("batch", day + timedelta(hours=2), size=5)
    await chain.settlement("individual", day + timedelta(hours=3), tee="0xt1")
    await chain.settlement("individual", day + timedelta(hours=4), tee="0xt1")
    await chain.settlement("legacy_single", day + timedelta(hours=5))
    await chain.settlement("legacy_batch", day + timedelta(hours=6), size=4)
    await chain.settlement("legacy_metadata", day + timedelta(hours=7), model="gpt-4")
    await chain.inference("m", "0xu", day + timedelta(hours=8), mode_name="TEE")
    await chain.inference("m", "0xu", day + timedelta(hours=9), mode_name="ZKML")
    await chain.inference("m", "0xu", day + timedelta(hours=10), mode_name="VANILLA")
    await chain.heartbeat("0xt1", day + timedelta(hours=1))
    await chain.heartbeat("0xt1", day + timedelta(hours=2))
    await chain.heartbeat("0xt2", day + timedelta(hours=3))

    d = await one(conn, "select * from og.daily_activity")
    assert d["settled_inferences"] == 20 + 5 + 2 + 1 + 4 + 1
    assert (d["verified_inferences"], d["batches"], d["individual_settlements"]) == (2, 2, 2)
    assert (d["heartbeating_tees"], d["legacy_path_inferences"], d["payments"]) == (2, 3, 0)
    v = await one(conn, "select * from og.verification_coverage")
    assert v["settled_inferences"] == 33
    assert (v["verified_inferences"], v["batch_inferences"], v["individual_inferences"]) == (
        2,
        25,
        2,
    )
    assert v["legacy_inferences"] == 6
    assert q(v["verified_share"]) == share(2, 33)
    assert (v["legacy_path_inferences"], v["legacy_path_verified_inferences"]) == (3, 2)


async def test_untrusted_settlement_is_not_counted(conn: asyncpg.Connection, chain: Chain) -> None:
    await chain.settlement("batch", at("2026-06-01 10:00:00"), size=100, trusted=False)
    await chain.settlement("individual", at("2026-06-01 11:00:00"), tee="0xt1", trusted=False)
    await chain.settlement("legacy_metadata", at("2026-06-01 12:00:00"), model="gpt-4", trusted=False)
    await chain.settlement("batch", at("2026-06-02 10:00:00"), size=3)
    await chain.tee(
        "0xt1",
        enabled=True,
        registered_at=at("2026-05-01 00:00:00"),
        last_heartbeat_at=None,
        heartbeats=0,
    )

    days = await rows(conn, "select day, settled_inferences from og.daily_activity")
    assert days == [{"day": date(2026, 6, 2), "settled_inferences": 3}]
    assert [r["day"] for r in await rows(conn, "select day from og.verification_coverage")] == [date(2026, 6, 2)]
    usage = await rows(conn, "select model, attribution, inferences from og.model_usage")
    assert usage == [{"model": None, "attribution": "unattributed", "inferences": 3}]
    fleet = await one(conn, "select individual_settlements from og.tee_fleet")
    assert fleet["individual_settlements"] == 0
    summary = await one(conn, "select * from og.window_summary where \"window\" = 'all'")
    assert (summary["settled_inferences"], summary["verified_inferences"]) == (3, 0)


# --- TEEs ------------------------------------------------------------------------------------


async def test_tee_that_stopped_heartbeating_and_a_disabled_tee_are_not_live(
    conn: asyncpg.Connection, chain: Chain
) -> None:
    head = at("2026-06-10 12:00:00")
    await chain.head(OG, head)
    registered = at("2026-06-01 00:00:00")
    await chain.tee(
        "0xlive",
        enabled=True,
        registered_at=registered,
        last_heartbeat_at=head - timedelta(seconds=1800),  # exactly the max age: still live
        heartbeats=900,
    )
    await chain.tee(
        "0xstopped",
        enabled=True,
        registered_at=registered,
        last_heartbeat_at=head - timedelta(seconds=1801),
        heartbeats=10,
    )
    await chain.tee(
        "0xdisabled",
        enabled=False,
        registered_at=registered,
        last_heartbeat_at=head - timedelta(seconds=60),
        heartbeats=900,
        tee_type=1,
    )
    await chain.tee("0xnever", enabled=True, registered_at=registered, last_heartbeat_at=None, heartbeats=0)
    await chain.settlement("individual", head - timedelta(hours=1), tee="0xlive")
    await chain.settlement("individual", head - timedelta(hours=2), tee="0xlive")
    await chain.settlement("batch", head - timedelta(hours=2), size=9)

    fleet = {r["tee_id"]: r for r in await rows(conn, "select * from og.tee_fleet")}
    assert {t: r["live"] for t, r in fleet.items()} == {
        "0xlive": True,
        "0xstopped": False,
        "0xdisabled": False,
        "0xnever": False,
    }
    assert fleet["0xlive"]["individual_settlements"] == 2
    assert fleet["0xstopped"]["individual_settlements"] == 0
    assert fleet["0xlive"]["heartbeat_age_s"] == 1800
    assert fleet["0xdisabled"]["tee_type_name"] == "Validator"
    assert fleet["0xlive"]["tee_type_name"] == "LLMProxy"
    assert fleet["0xnever"]["heartbeat_age_s"] is None


# --- models ----------------------------------------------------------------------------------


async def test_listed_model_never_used(conn: asyncpg.Connection, chain: Chain) -> None:
    await conn.execute(
        "insert into og.models (model, kind, source) values"
        " ('openai/gpt-5', 'llm', 'test'), ('anthropic/claude-opus-4-7', 'llm', 'test')"
    )
    await chain.inference("gpt-5", "0xu", at("2026-06-01 10:00:00"))

    cat = await one(conn, "select * from og.catalog_vs_usage")
    assert (cat["listed_models"], cat["used_models"], cat["listed_never_used"]) == (2, 1, 1)
    assert cat["used_not_listed"] == 0
    models = [r["model"] for r in await rows(conn, "select model from og.model_usage")]
    assert models == ["gpt-5"]  # a model nobody used has no usage row


async def test_used_model_not_listed(conn: asyncpg.Connection, chain: Chain) -> None:
    await conn.execute("insert into og.models (model, kind, source) values ('openai/o3', 'llm', 't')")
    await chain.inference("my-finetune", "0xu", at("2026-06-01 10:00:00"))
    await chain.settlement("legacy_metadata", at("2026-06-01 11:00:00"), model="OpenAI/O3")

    usage = await rows(conn, "select model, attribution, listed from og.model_usage")
    assert usage == [
        {"model": "my-finetune", "attribution": "legacy_inference", "listed": False},
        {"model": "o3", "attribution": "settlement_metadata", "listed": True},
    ]
    cat = await one(conn, "select * from og.catalog_vs_usage")
    assert (cat["used_models"], cat["used_not_listed"], cat["listed_never_used"]) == (2, 1, 0)


async def test_model_names_are_normalised_before_joining(conn: asyncpg.Connection, chain: Chain) -> None:
    await catalog.seed(conn)  # lists openai/gpt-4.1-2025-04-14
    await chain.inference("gpt-4.1-2025-04-14", "0xa", at("2026-06-01 10:00:00"))
    await chain.inference("GPT-4.1-2025-04-14", "0xb", at("2026-06-01 11:00:00"))
    await chain.inference(" openai/gpt-4.1-2025-04-14 ", "0xa", at("2026-06-02 10:00:00"))

    usage = await one(conn, "select * from og.model_usage")
    assert (usage["model"], usage["attribution"], usage["inferences"]) == (
        "gpt-4.1-2025-04-14",
        "legacy_inference",
        3,
    )
    assert (usage["payers"], usage["listed"]) == (2, True)
    cat = await one(conn, "select * from og.catalog_vs_usage")
    assert (cat["used_models"], cat["used_not_listed"]) == (1, 0)
    assert cat["listed_models"] == 48
    assert cat["listed_never_used"] == 47


async def test_model_usage_attributes_only_what_the_chain_names(conn: asyncpg.Connection, chain: Chain) -> None:
    when = at("2026-06-01 10:00:00")
    await chain.inference("gpt-4", "0xa", when)
    await chain.inference("gpt-4", "0xb", when)
    await chain.inference("gpt-4", "0xa", when + timedelta(days=1))
    await chain.inference(None, "0xc", when)  # workflow result: model not in the log
    await chain.settlement("legacy_metadata", when, model="gpt-4")
    await chain.settlement("legacy_metadata", when, model="claude-3")
    await chain.settlement("batch", when, size=40)
    await chain.settlement("individual", when, tee="0xt")
    await chain.head(OG, when + timedelta(days=2))

    usage = await rows(conn, "select model, attribution, inferences, payers, listed from og.model_usage")
    assert usage == [
        {
            "model": "claude-3",
            "attribution": "settlement_metadata",
            "inferences": 1,
            "payers": None,
            "listed": False,
        },
        {
            "model": "gpt-4",
            "attribution": "legacy_inference",
            "inferences": 3,
            "payers": 2,
            "listed": False,
        },
        {
            "model": "gpt-4",
            "attribution": "settlement_metadata",
            "inferences": 1,
            "payers": None,
            "listed": False,
        },
        # batch 40 + individual 1 + the workflow inference: never spread over models
        {
            "model": None,
            "attribution": "unattributed",
            "inferences": 42,
            "payers": None,
            "listed": None,
        },
    ]
    cat = await one(conn, "select * from og.catalog_vs_usage")
    assert cat["used_models"] == 2
    assert q(cat["attributed_share"]) == share(5, 47)
    records = await one(
        conn,
        "select count(*) as n, sum(inferences) as inferences,"
        " count(*) filter (where attribution = 'unattributed') as unattributed"
        " from og.model_inferences",
    )
    assert (records["n"], records["inferences"], records["unattributed"]) == (8, 47, 3)


async def test_returning_payers_per_model(conn: asyncpg.Connection, chain: Chain) -> None:
    d1, d2, d3 = at("2026-06-01 10:00:00"), at("2026-06-02 10:00:00"), at("2026-06-03 10:00:00")
    # gpt-4: a on three days (4 inferences), b once, c twice on one day.
    for when in (d1, d1, d2, d3):
        await chain.inference("gpt-4", "0xa", when)
    await chain.inference("GPT-4", "0xb", d2)
    await chain.inference("gpt-4", "0xc", d3)
    await chain.inference("gpt-4", "0xc", d3)
    # llama: b on two days, spelled two ways.
    await chain.inference("meta/llama-3", "0xb", d1)
    await chain.inference("llama-3", "0xb", d2)
    await chain.settlement("legacy_metadata", d1, model="gpt-4")

    got = await rows(conn, "select * from og.returning_payers_per_model")
    for r in got:
        r["returning_share"] = q(r["returning_share"])
    assert got == [
        {
            "model": "gpt-4",
            "attribution": "legacy_inference",
            "inferences": 7,
            "payers": 3,
            "returning_payers": 1,
            "returning_share": share(1, 3),
            "repeat_inferences": 2,
        },
        {
            "model": "gpt-4",
            "attribution": "settlement_metadata",
            "inferences": 1,
            "payers": None,
            "returning_payers": None,
            "returning_share": None,
            "repeat_inferences": None,
        },
        {
            "model": "llama-3",
            "attribution": "legacy_inference",
            "inferences": 2,
            "payers": 1,
            "returning_payers": 1,
            "returning_share": share(1, 1),
            "repeat_inferences": 1,
        },
    ]


# --- whole views -----------------------------------------------------------------------------


async def test_window_summary(conn: asyncpg.Connection, chain: Chain) -> None:
    head = at("2026-06-30 12:00:00")
    await chain.head(BASE, head)
    await chain.head(OG, head)
    await chain.payment("0xold", head - timedelta(days=40), "5")
    await chain.payment("0xold", head - timedelta(days=3), "1")
    await chain.payment("0xnew", head - timedelta(days=1), "2")
    await chain.payment("0xmid", head - timedelta(days=20), "3")
    await chain.settlement("batch", head - timedelta(days=2), size=10)
    await chain.settlement("individual", head - timedelta(days=2), tee="0xt")
    await chain.settlement("legacy_single", head - timedelta(days=50))
    await chain.inference("m", "0xu", head - timedelta(days=10), mode_name="TEE")

    got = {r["window"]: r for r in await rows(conn, "select * from og.window_summary")}
    assert [got[w]["payers"] for w in ("7d", "30d", "all")] == [2, 3, 3]
    assert [got[w]["payments"] for w in ("7d", "30d", "all")] == [2, 3, 4]
    assert [got[w]["new_payers"] for w in ("7d", "30d", "all")] == [1, 2, 3]
    assert [got[w]["returning_payers"] for w in ("7d", "30d", "all")] == [1, 1, 1]
    assert [got[w]["revenue_opg"] for w in ("7d", "30d", "all")] == [3, 6, 11]
    assert [got[w]["settled_inferences"] for w in ("7d", "30d", "all")] == [11, 11, 12]
    assert [got[w]["verified_inferences"] for w in ("7d", "30d", "all")] == [1, 1, 1]
    assert q(got["all"]["verified_share"]) == share(1, 12)
    assert [got[w]["legacy_inferences"] for w in ("7d", "30d", "all")] == [0, 0, 1]
    assert [got[w]["legacy_path_verified_inferences"] for w in ("7d", "30d", "all")] == [0, 1, 1]
    assert got["7d"]["payments_head_at"] == head


async def test_empty_database_every_view_returns_zero_rows_or_zeros(
    conn: asyncpg.Connection,
) -> None:
    always_one_row = {"og.catalog_vs_usage"}
    always_three_rows = {"og.windows", "og.demand_concentration", "og.window_summary"}
    for view in VIEWS:
        found = await rows(conn, f"select * from {view}")
        if view in always_one_row:
            assert len(found) == 1, view
        elif view in always_three_rows:
            assert [r["window"] for r in found] == ["7d", "30d", "all"], view
        else:
            assert found == [], view
            continue
        for r in found:
            for column, value in r.items():
                if column in ("window", "ord", "span", "payments_from", "inference_from"):
                    continue
                # Counts and sums are 0; shares, anchors and HHI are NULL (undefined on nothing).
                assert value in (0, None), (view, column, value)
    cat = await one(conn, "select * from og.catalog_vs_usage")
    assert cat["listed_models"] == 0


async def test_view_files_are_rerunnable(conn: asyncpg.Connection, chain: Chain) -> None:
    await chain.payment("0xa", at("2026-06-01 10:00:00"))
    for path in sorted(VIEWS_DIR.glob("*.sql")):
        await conn.execute(path.read_text())
    assert len(await rows(conn, "select * from og.payer_stats")) == 1
    comments = await rows(
        conn,
        "select c.relname, obj_description(c.oid, 'pg_class') as comment from pg_class c"
        " join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'og' and c.relkind = 'v'",
    )
    assert sorted("og." + r["relname"] for r in comments) == sorted(VIEWS)
    assert all(r["comment"] for r in comments)
