"""The SQL files of the views and the catalog migration, read as text: conventions and contracts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from indexer.catalog import SDK_MODELS, normalize_model, read_listings

SQL = Path(__file__).resolve().parents[2] / "sql"
VIEW_FILES = sorted((SQL / "views").glob("*.sql"))
FILE_NAME = re.compile(r"^(\d{2})_([a-z0-9_]+)\.sql$")

# The views the issue asks for, each in its own file.
REQUIRED_VIEWS = {
    "daily_activity",
    "payer_stats",
    "payer_retention",
    "model_usage",
    "returning_payers_per_model",
    "catalog_vs_usage",
    "tee_fleet",
    "verification_coverage",
    "demand_concentration",
}
PER_MODEL_VIEWS = {"model_usage", "returning_payers_per_model", "model_inferences"}


def _name(path: Path) -> str:
    match = FILE_NAME.match(path.name)
    assert match, f"{path.name} is not named NN_name.sql"
    return match.group(2)


def _code(text: str) -> str:
    """SQL without comments and string literals, lower case."""
    text = re.sub(r"--[^\n]*", "", text)
    text = re.sub(r"'(?:[^']|'')*'", "''", text)
    return text.lower()


def test_every_required_view_has_its_file() -> None:
    assert {_name(p) for p in VIEW_FILES} >= REQUIRED_VIEWS


def test_view_file_numbers_are_unique() -> None:
    numbers = [FILE_NAME.match(p.name).group(1) for p in VIEW_FILES]  # type: ignore[union-attr]
    assert len(numbers) == len(set(numbers))


@pytest.mark.parametrize("path", VIEW_FILES, ids=lambda p: p.name)
def test_view_file_defines_one_rerunnable_view_named_after_the_file(path: Path) -> None:
    name = _name(path)
    code = _code(path.read_text())
    created = re.findall(r"create\s+(?:or\s+replace\s+)?view\s+([a-z0-9_.]+)", code)
    assert created == [f"og.{name}"]
    assert re.search(rf"create\s+or\s+replace\s+view\s+og\.{name}\s+as", code)
    assert re.search(rf"comment\s+on\s+view\s+og\.{name}\s+is", code)
    assert "create table" not in code and "create index" not in code


@pytest.mark.parametrize("path", VIEW_FILES, ids=lambda p: p.name)
def test_view_file_opens_with_a_header_stating_its_grain(path: Path) -> None:
    lines = path.read_text().splitlines()
    header = []
    for line in lines:
        if not line.startswith("--"):
            break
        header.append(line[2:].strip())
    text = " ".join(header).lower()
    assert header and header[0].startswith(f"og.{_name(path)}:")
    assert re.search(r"one row per|exactly one row", text), "header must state the grain"


@pytest.mark.parametrize("path", VIEW_FILES, ids=lambda p: p.name)
def test_windows_are_never_anchored_at_the_wall_clock(path: Path) -> None:
    code = _code(path.read_text())
    for clock in ("now()", "current_date", "current_timestamp", "clock_timestamp", "localtime"):
        assert clock not in code, f"{path.name} uses {clock}: anchor at og.windows instead"


@pytest.mark.parametrize("path", VIEW_FILES, ids=lambda p: p.name)
def test_days_are_utc_calendar_days(path: Path) -> None:
    code = _code(path.read_text())
    # A timestamptz becomes a date only after "at time zone 'UTC'", never in the session zone.
    assert not re.search(r"(block_time|_at)\)?::date", code), path.name
    assert "date_trunc(" not in code, path.name
    assert not re.search(r"::timestamp(?!tz)", code), path.name
    if "::date" in code:
        assert "at time zone ''" in code


@pytest.mark.parametrize("path", VIEW_FILES, ids=lambda p: p.name)
def test_views_only_use_views_defined_in_earlier_files(path: Path) -> None:
    order = {_name(p): i for i, p in enumerate(VIEW_FILES)}
    code = _code(path.read_text())
    for used in set(re.findall(r"og\.([a-z0-9_]+)", code)):
        if used in order and used != _name(path):
            assert order[used] < order[_name(path)], f"{path.name} uses og.{used} defined later"


# og.chain_heads reads only chain ids (which chain carries payments, settlements): exempt.
COUNTING_VIEWS = [p for p in VIEW_FILES if _name(p) != "chain_heads"]


def test_payments_are_always_filtered_to_x402() -> None:
    for path in COUNTING_VIEWS:
        code = _code(path.read_text())
        for match in re.finditer(r"from og\.payments (\w+)", code):
            alias = match.group(1)
            window = code[match.end() : match.end() + 400]
            assert f"{alias}.is_x402" in window, f"{path.name}: payments read without is_x402"


def test_settlements_are_always_filtered_to_trusted() -> None:
    for path in COUNTING_VIEWS:
        code = _code(path.read_text())
        for match in re.finditer(r"from og\.settlements (\w+)", code):
            alias = match.group(1)
            window = code[match.end() : match.end() + 900]
            assert f"{alias}.trusted" in window, f"{path.name}: settlements read without trusted"


# One shared definition, one internal view: what a payment, a counted settlement and a verified
# inference are is written once, and every other view reads the internal view instead of the table.
SHARED_DEFINITIONS = {
    # internal view: (table it filters, text that only it may contain)
    "x402_payments": (r"og\.payments\b", r"is_x402"),
    "trusted_settlements": (r"og\.settlements\b", r"\.trusted\b|verified_on_chain"),
    "legacy_path_inferences": (None, r"mode_name\s+in"),
}


@pytest.mark.parametrize("internal", sorted(SHARED_DEFINITIONS))
def test_shared_definitions_are_written_only_in_their_internal_view(internal: str) -> None:
    table, definition = SHARED_DEFINITIONS[internal]
    owners = [p for p in VIEW_FILES if _name(p) == internal]
    assert len(owners) == 1 and re.search(definition, _code(owners[0].read_text()))
    for path in VIEW_FILES:
        if path in owners:
            continue
        code = _code(path.read_text())
        assert not re.search(definition, code), f"{path.name} restates og.{internal}"
        # og.chain_heads probes only which chains hold rows: it may read the tables themselves
        if table and _name(path) != "chain_heads":
            assert not re.search(table, code), f"{path.name} reads the table, not og.{internal}"


@pytest.mark.parametrize("internal", sorted(SHARED_DEFINITIONS))
def test_internal_views_say_so_in_their_header_and_comment(internal: str) -> None:
    (path,) = [p for p in VIEW_FILES if _name(p) == internal]
    text = path.read_text()
    assert "(internal:" in text.splitlines()[0]
    assert re.search(rf"comment on view og\.{internal} is\s+'Internal", text)


@pytest.mark.parametrize("name", sorted(PER_MODEL_VIEWS))
def test_per_model_views_name_their_attribution(name: str) -> None:
    (path,) = [p for p in VIEW_FILES if _name(p) == name]
    text = path.read_text()
    assert "attribution" in _code(text)
    for source in ("legacy_inference", "settlement_metadata", "unattributed"):
        assert source in text


def test_catalog_migration_normalises_in_sql() -> None:
    (migration,) = sorted((SQL / "migrations").glob("0002_*.sql"))
    code = _code(migration.read_text())
    assert re.search(r"create or replace function og\.normalize_model\(name text\)", code)
    assert "immutable" in code and "strict" in code
    assert re.search(
        r"model_key\s+text\s+generated always as \(og\.normalize_model\(model\)\)", code
    )


def test_sdk_model_list_is_the_opengradient_1_1_4_tee_llm_enum() -> None:
    listings = read_listings(SDK_MODELS)
    names = [x.model for x in listings]
    assert len(names) == 48
    assert names[:3] == ["openai/gpt-4.1-2025-04-14", "openai/gpt-4.1-mini", "openai/gpt-4.1-nano"]
    assert names[-1] == "zai/glm-image"
    providers = {n.split("/")[0] for n in names}
    assert providers == {"openai", "anthropic", "google", "x-ai", "bytedance", "nous", "zai"}
    keys = [normalize_model(n) for n in names]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("openai/gpt-4.1-2025-04-14", "gpt-4.1-2025-04-14"),
        ("gpt-4.1-2025-04-14", "gpt-4.1-2025-04-14"),
        ("GPT-4.1-2025-04-14", "gpt-4.1-2025-04-14"),
        (" x-ai/Grok-4 \n", "grok-4"),
        ("org/team/model", "model"),
        ("openai/", None),
        ("", None),
    ],
)
def test_normalize_model(name: str, key: str | None) -> None:
    assert normalize_model(name) == key
