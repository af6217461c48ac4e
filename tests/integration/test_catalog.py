"""The model catalog (seed, CSV/JSON import, normalisation) and the read-only role."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from dbutil import scratch_database

from indexer import catalog
from indexer.catalog import CatalogError, grant_readonly, import_file, normalize_model, seed

pytestmark = pytest.mark.integration


def _with_db(dsn: str, name: str, user: str | None = None) -> str:
    parts = urlsplit(dsn)
    netloc = parts.netloc
    if user is not None:
        host = netloc.rsplit("@", 1)[-1]
        netloc = f"{user}@{host}"
    return urlunsplit((parts.scheme, netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture(scope="module")
async def catalog_db(server_dsn: str) -> AsyncIterator[tuple[str, str]]:
    """(server dsn, database name) of a migrated scratch database for this module."""
    async with scratch_database(server_dsn, "ogcatalog") as dsn:
        yield server_dsn, urlsplit(dsn).path.lstrip("/")


@pytest.fixture
async def conn(catalog_db: tuple[str, str]) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(_with_db(*catalog_db))
    tr = c.transaction()
    await tr.start()
    try:
        yield c
    finally:
        await tr.rollback()
        await c.close()


async def models(conn: asyncpg.Connection) -> list[tuple[str, str, str, datetime | None, str]]:
    return [
        (r["model_key"], r["model"], r["kind"], r["listed_at"], r["source"])
        for r in await conn.fetch(
            'select model_key, model, kind, listed_at, source from og.models order by model_key collate "C"'
        )
    ]


# --- seed ------------------------------------------------------------------------------------


async def test_seed_lists_the_sdk_tee_llm_models_once(conn: asyncpg.Connection) -> None:
    first = await seed(conn)
    assert (first.read, first.inserted, first.updated) == (48, 48, 0)
    again = await seed(conn)
    assert (again.inserted, again.updated) == (0, 0)
    rows = await models(conn)
    assert len(rows) == 48
    by_key = {r[0]: r for r in rows}
    assert by_key["gpt-4.1-2025-04-14"][1:3] == ("openai/gpt-4.1-2025-04-14", "llm")
    assert by_key["claude-opus-4-7"][1] == "anthropic/claude-opus-4-7"
    assert by_key["grok-4.20-reasoning"][1] == "x-ai/grok-4.20-reasoning"
    assert {r[4] for r in rows} == {"pypi:opengradient==1.1.4 opengradient/types.py TEE_LLM"}


async def test_seed_never_overwrites_an_imported_listing(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "hub.csv"
    path.write_text("model,kind,listed_at,source\nGPT-5,other,2026-01-02,hub\n")
    await import_file(conn, path)
    await seed(conn)
    row = await conn.fetchrow("select * from og.models where model_key = 'gpt-5'")
    assert row is not None
    assert (row["model"], row["kind"], row["source"]) == ("GPT-5", "other", "hub")


# --- import ----------------------------------------------------------------------------------


async def test_import_csv(conn: asyncpg.Connection, tmp_path: Path) -> None:
    path = tmp_path / "onnx.csv"
    path.write_text(
        "model,kind,listed_at,source\n"
        "OpenGradient/og-1hr-volatility-ethusdt,onnx,2025-03-01,model-hub\n"
        "QmbUqS93oc4JTLMHwpVxsE39mhNxy6hpf6Py3r9oANr8aZ,onnx,2025-03-02T10:00:00+02:00,\n"
        "\n"
        "og-workflow-btc,workflow,,model-hub\n"
    )
    result = await import_file(conn, path)
    assert (result.read, result.inserted, result.updated) == (3, 3, 0)
    assert await models(conn) == [
        (  # content ids are case-sensitive: the key keeps the CID's case
            "QmbUqS93oc4JTLMHwpVxsE39mhNxy6hpf6Py3r9oANr8aZ",
            "QmbUqS93oc4JTLMHwpVxsE39mhNxy6hpf6Py3r9oANr8aZ",
            "onnx",
            datetime(2025, 3, 2, 8, 0, tzinfo=UTC),
            "file:onnx.csv",
        ),
        (
            "og-1hr-volatility-ethusdt",
            "OpenGradient/og-1hr-volatility-ethusdt",
            "onnx",
            datetime(2025, 3, 1, tzinfo=UTC),
            "model-hub",
        ),
        ("og-workflow-btc", "og-workflow-btc", "workflow", None, "model-hub"),
    ]


async def test_import_json_updates_existing_listings(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    await seed(conn)
    path = tmp_path / "hub.json"
    path.write_text(
        "[\n"
        '  {"model": "gpt-5", "kind": "llm", "listed_at": "2026-02-01", "source": "hub"},\n'
        '  {"model": "og-eth-vol", "kind": "onnx", "listed_at": null}\n'
        "]\n"
    )
    result = await import_file(conn, path)
    assert (result.read, result.inserted, result.updated) == (2, 1, 1)
    gpt5 = await conn.fetchrow("select * from og.models where model_key = 'gpt-5'")
    assert gpt5 is not None
    assert (gpt5["model"], gpt5["listed_at"], gpt5["source"]) == (
        "gpt-5",
        datetime(2026, 2, 1, tzinfo=UTC),
        "hub",
    )
    vol = await conn.fetchrow("select * from og.models where model_key = 'og-eth-vol'")
    assert vol is not None and vol["source"] == "file:hub.json"
    assert await conn.fetchval("select count(*) from og.models") == 49


async def test_import_jsonl(conn: asyncpg.Connection, tmp_path: Path) -> None:
    path = tmp_path / "hub.jsonl"
    path.write_text('{"model": "a/m1", "kind": "onnx"}\n\n{"model": "m2", "kind": "LLM"}\n')
    result = await import_file(conn, path)
    assert result.inserted == 2
    assert [r[0:3] for r in await models(conn)] == [("m1", "a/m1", "onnx"), ("m2", "m2", "llm")]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.csv", "", "a.csv: empty file"),
        ("a.csv", "name,kind\nm,llm\n", "a.csv line 1: header 'name,kind' must name each of"),
        ("a.csv", "model,kind\nm1,llm\nm2,diffusion\n", "a.csv line 3: kind 'diffusion' is not"),
        ("a.csv", "model,kind\nm1,llm\n ,llm\n", "a.csv line 3: model is missing or blank"),
        ("a.csv", "model,kind\nm1,llm,extra\n", "a.csv line 2: 3 fields, header has 2"),
        (
            "a.csv",
            "model,kind,listed_at\nm1,llm,yesterday\n",
            "a.csv line 2: listed_at 'yesterday'",
        ),
        ("a.csv", "model,kind,owner\nm1,llm,me\n", "a.csv line 2: unknown field(s) owner"),
        (
            "a.csv",
            'model,kind\n"multi\nline",llm\nOpenAI/GPT-5,llm\ngpt-5,llm\n',
            "a.csv line 5: model 'gpt-5' is the same model as line 4 (both normalise to 'gpt-5')",
        ),
        ("a.json", '{"model": "m"}', "a.json line 1: expected a JSON array of objects"),
        (
            "a.json",
            '[\n {"model": "m", "kind": "llm"},\n 7\n]',
            "a.json line 3: expected an object",
        ),
        (
            "a.json",
            '[\n {"model": "m", "kind": "llm"},\n {"model": }\n]',
            "a.json line 3: invalid JSON",
        ),
        (
            "a.json",
            '[\n {"model": "m", "kind": "llm"}\n {"model": "n"}]',
            "a.json line 3: expected ','",
        ),
        ("a.json", '[\n\n {"model": 5, "kind": "llm"}]', "a.json line 3: model must be a string"),
        ("a.json", '[{"model": "m", "kind": "llm"}] x', "a.json line 1: unexpected text"),
        ("a.jsonl", '{"model": "m", "kind": "llm"}\n{"kind": "llm"}\n', "a.jsonl line 2: model is"),
        ("a.txt", "model,kind\n", "a.txt: unknown format"),
    ],
)
async def test_bad_input_names_the_line(
    conn: asyncpg.Connection, tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(CatalogError) as raised:
        await import_file(conn, path)
    assert str(raised.value).startswith(message), str(raised.value)
    assert await conn.fetchval("select count(*) from og.models") == 0  # nothing half-imported


async def test_missing_file_is_a_catalog_error(conn: asyncpg.Connection, tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no such file"):
        await import_file(conn, tmp_path / "nope.csv")


# --- normalisation ---------------------------------------------------------------------------


NAMES = [
    "openai/gpt-4.1-2025-04-14",
    "gpt-4.1-2025-04-14",
    "GPT-4.1-2025-04-14",
    "  OpenAI/GPT-4.1-2025-04-14\t",
    "meta-llama/Meta-Llama-3-8B-Instruct",
    "a/b/c",
    "QmbUqS93oc4JTLMHwpVxsE39mhNxy6hpf6Py3r9oANr8aZ",
    "openai/",
    "   ",
    "",
]


async def test_normalisation_is_the_same_in_sql_and_python(conn: asyncpg.Connection) -> None:
    sql = await conn.fetch(
        "select n, og.normalize_model(n) as key from unnest($1::text[]) n", NAMES
    )
    assert [r["key"] for r in sql] == [normalize_model(n) for n in NAMES]
    assert [normalize_model(n) for n in NAMES[:4]] == ["gpt-4.1-2025-04-14"] * 4
    assert normalize_model("a/b/c") == "c"
    assert normalize_model("openai/") is None
    assert normalize_model("   ") is None
    assert await conn.fetchval("select og.normalize_model(null)") is None


async def test_on_chain_names_match_listings_after_normalisation(conn: asyncpg.Connection) -> None:
    await seed(conn)
    listed = await conn.fetch(
        "select n, exists (select 1 from og.models m where m.model_key = og.normalize_model(n))"
        " as listed from unnest($1::text[]) n",
        ["gpt-4.1-2025-04-14", "GPT-4.1-2025-04-14", "openai/gpt-4.1-2025-04-14", "gpt-4.1"],
    )
    assert [r["listed"] for r in listed] == [True, True, True, False]


def test_sdk_data_file_is_a_valid_listing_file() -> None:
    listings = catalog.read_listings(catalog.SDK_MODELS)
    assert len(listings) == 48
    assert listings[0].model == "openai/gpt-4.1-2025-04-14"
    assert {x.kind for x in listings} == {"llm"}
    assert all("/" in x.model for x in listings)


# --- read-only role --------------------------------------------------------------------------


async def test_readonly_role_can_select_views_but_not_write_or_read_other_schemas(
    catalog_db: tuple[str, str],
) -> None:
    server, name = catalog_db
    role = f"og_reader_{uuid.uuid4().hex[:8]}"
    owner = await asyncpg.connect(_with_db(server, name))
    try:
        await owner.execute("create schema if not exists private")
        await owner.execute("create table if not exists private.secrets (s text)")
        await owner.execute("create table if not exists public.notes (s text)")
        assert await grant_readonly(owner, role, login=True) is True
        assert await grant_readonly(owner, role, login=True) is False  # idempotent
        # Objects created after the grant (e.g. by the next migrate) are readable too.
        await owner.execute("create view og.later as select 1 as one")

        reader = await asyncpg.connect(_with_db(server, name, user=role))
        try:
            assert await reader.fetchval("select count(*) from og.daily_activity") == 0
            assert await reader.fetchval("select listed_models from og.catalog_vs_usage") == 0
            assert await reader.fetchval("select count(*) from og.payments") == 0
            assert await reader.fetchval("select one from og.later") == 1
            assert await reader.fetchval("show default_transaction_read_only") == "on"
            assert await reader.fetchval("show jit") == "off"
            with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
                await reader.execute("delete from og.payments")
            # Even in an explicit read-write transaction it has no privilege to change anything.
            for statement in (
                "insert into og.models (model, kind, source) values ('x', 'llm', 'x')",
                "delete from og.payments",
                "update og.tees set enabled = false",
                "create table og.mine (x int)",
                "select * from private.secrets",
                "select * from public.notes",
            ):
                await reader.execute("begin read write")
                try:
                    with pytest.raises(asyncpg.InsufficientPrivilegeError):
                        await reader.execute(statement)
                finally:
                    await reader.execute("rollback")
        finally:
            await reader.close()
    finally:
        await owner.execute("drop view if exists og.later")
        await owner.execute(f"drop owned by {role}")
        await owner.execute(f"drop role if exists {role}")
        await owner.close()


@pytest.mark.parametrize(
    "role", ["", "Metabase", "bi-reader", "pg_reader", "public", "x" * 64, 'r"; drop role x; --']
)
async def test_grant_readonly_rejects_unsafe_role_names(
    conn: asyncpg.Connection, role: str
) -> None:
    with pytest.raises(CatalogError, match="role name"):
        await grant_readonly(conn, role)


async def test_grant_readonly_refuses_a_powerful_existing_role(conn: asyncpg.Connection) -> None:
    role = f"og_admin_{uuid.uuid4().hex[:8]}"
    await conn.execute(f"create role {role} createdb")
    with pytest.raises(CatalogError, match="elevated attributes"):
        await grant_readonly(conn, role)
    member = f"og_member_{uuid.uuid4().hex[:8]}"
    await conn.execute(f"create role {member} in role {role}")
    with pytest.raises(CatalogError, match="member of a role"):
        await grant_readonly(conn, member)
