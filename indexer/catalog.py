"""Keep the model catalog (og.models) and grant read-only access to schema og."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from .errors import OgIndexerError

# A connection, pooled or not; functions here open their own transaction (nested if needed).
Conn = asyncpg.Connection | PoolConnectionProxy

DATA_DIR = Path(__file__).resolve().parent / "data"
# TEE_LLM of PyPI opengradient 1.1.4 (opengradient/types.py), in the import_file JSON format.
SDK_MODELS = DATA_DIR / "tee_llm_models.json"

KINDS = ("llm", "onnx", "workflow", "other")
COLUMNS = ("model", "kind", "listed_at", "source")
REQUIRED = ("model", "kind")
FORMATS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_RESERVED_ROLES = frozenset({"public", "none", "current_user", "current_role", "session_user"})


class CatalogError(OgIndexerError, ValueError):
    """Bad catalog input or an unusable role; the message names the file and line, or the role."""


@dataclass(frozen=True, slots=True)
class Listing:
    """One listed model as read from a file; line is where it starts (1-based)."""

    model: str
    kind: str
    listed_at: datetime | None
    source: str
    line: int


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What a load changed in og.models."""

    read: int
    inserted: int
    updated: int


_CIDV0 = re.compile(r"^Qm[1-9A-HJ-NP-Za-km-z]{44}$")


def normalize_model(name: str) -> str | None:
    """Python mirror of SQL og.normalize_model: trimmed, provider prefix dropped, lower case except
    for case-sensitive content ids (CIDv0)."""
    key = name.strip(" \t\r\n").rsplit("/", 1)[-1]
    return (key if _CIDV0.match(key) else key.lower()) or None


def _parse_time(value: str) -> datetime:
    """ISO 8601 date or date-time; a value without offset is UTC."""
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _listing(where: str, fields: Mapping[str, Any], default_source: str, line: int) -> Listing:
    unknown = sorted(set(fields) - set(COLUMNS))
    if unknown:
        raise CatalogError(
            f"{where}: unknown field(s) {', '.join(unknown)}; expected {', '.join(COLUMNS)}"
        )
    for key, value in fields.items():
        if value is not None and not isinstance(value, str):
            raise CatalogError(f"{where}: {key} must be a string, got {value!r}")
    model = (fields.get("model") or "").strip()
    if normalize_model(model) is None:
        raise CatalogError(f"{where}: model is missing or blank")
    kind = (fields.get("kind") or "").strip().lower()
    if kind not in KINDS:
        raise CatalogError(f"{where}: kind {fields.get('kind')!r} is not one of {', '.join(KINDS)}")
    raw_time = (fields.get("listed_at") or "").strip()
    listed_at: datetime | None = None
    if raw_time:
        try:
            listed_at = _parse_time(raw_time)
        except ValueError:
            raise CatalogError(
                f"{where}: listed_at {raw_time!r} is not an ISO 8601 date or date-time"
            ) from None
    source = (fields.get("source") or "").strip() or default_source
    return Listing(model=model, kind=kind, listed_at=listed_at, source=source, line=line)


def _csv_rows(text: str, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise CatalogError(f"{name}: empty file; expected a header naming model,kind") from None
    header = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED if c not in header]
    if missing or len(set(header)) != len(header):
        raise CatalogError(
            f"{name} line 1: header {','.join(header)!r} must name each of "
            f"{', '.join(REQUIRED)} once (optional: listed_at, source)"
        )
    start = reader.line_num + 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise CatalogError(
                    f"{name} line {line}: {len(cells)} fields, header has {len(header)}"
                )
            yield line, dict(zip(header, cells, strict=True))
    except csv.Error as e:
        raise CatalogError(f"{name} line {reader.line_num}: {e}") from None


def _json_rows(text: str, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """A top-level array of objects; each object's line is where it starts."""
    decoder = json.JSONDecoder()

    def line_of(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    def skip(pos: int) -> int:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        return pos

    pos = skip(0)
    if pos >= len(text) or text[pos] != "[":
        raise CatalogError(f"{name} line {line_of(pos)}: expected a JSON array of objects")
    pos = skip(pos + 1)
    if pos < len(text) and text[pos] == "]":
        pos += 1
    else:
        while True:
            try:
                value, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as e:
                raise CatalogError(f"{name} line {e.lineno}: invalid JSON: {e.msg}") from None
            if not isinstance(value, dict):
                raise CatalogError(f"{name} line {line_of(pos)}: expected an object, got {value!r}")
            yield line_of(pos), value
            pos = skip(end)
            if pos < len(text) and text[pos] == ",":
                pos = skip(pos + 1)
                continue
            if pos < len(text) and text[pos] == "]":
                pos += 1
                break
            raise CatalogError(f"{name} line {line_of(pos)}: expected ',' or ']' after an object")
    if skip(pos) != len(text):
        raise CatalogError(f"{name} line {line_of(skip(pos))}: unexpected text after the array")


def _jsonl_rows(text: str, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as e:
            raise CatalogError(f"{name} line {number}: invalid JSON: {e.msg}") from None
        if not isinstance(value, dict):
            raise CatalogError(f"{name} line {number}: expected an object, got {value!r}")
        yield number, value


def read_listings(path: Path, fmt: str | None = None) -> list[Listing]:
    """Parse and validate a CSV, JSON (array) or JSON Lines listing file (format from the suffix
    unless fmt is given). Fields: model, kind (required); listed_at, source (optional; source
    defaults to file:<name>). Raises CatalogError naming the line of the first bad entry."""
    name = path.name
    fmt = fmt or FORMATS.get(path.suffix.lower())
    if fmt not in ("csv", "json", "jsonl"):
        raise CatalogError(f"{name}: unknown format; use a .csv, .json or .jsonl file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CatalogError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise CatalogError(f"{name}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    rows = {"csv": _csv_rows, "json": _json_rows, "jsonl": _jsonl_rows}[fmt](text, name)
    listings: list[Listing] = []
    seen: dict[str, int] = {}
    for line, fields in rows:
        listing = _listing(f"{name} line {line}", fields, f"file:{name}", line)
        key = normalize_model(listing.model)
        assert key is not None  # _listing rejects blank names
        if key in seen:
            raise CatalogError(
                f"{name} line {line}: model {listing.model!r} is the same model as line "
                f"{seen[key]} (both normalise to {key!r})"
            )
        seen[key] = line
        listings.append(listing)
    return listings


async def _write(conn: Conn, listings: list[Listing], *, overwrite: bool) -> ImportResult:
    """Upsert by normalised key; overwrite=False only adds keys not yet in og.models."""
    conflict = (
        "do update set model = excluded.model, kind = excluded.kind,"
        " listed_at = coalesce(excluded.listed_at, m.listed_at), source = excluded.source,"
        " loaded_at = now()"
        if overwrite
        else "do nothing"
    )
    rows = await conn.fetch(
        f"""
        insert into og.models as m (model, kind, listed_at, source)
        select * from unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[])
        on conflict (model_key) {conflict}
        returning (xmax = 0) as inserted
        """,
        [x.model for x in listings],
        [x.kind for x in listings],
        [x.listed_at for x in listings],
        [x.source for x in listings],
    )
    inserted = sum(1 for r in rows if r["inserted"])
    return ImportResult(read=len(listings), inserted=inserted, updated=len(rows) - inserted)


async def import_file(conn: Conn, path: Path | str, fmt: str | None = None) -> ImportResult:
    """Load a Model Hub / ONNX / other listing file into og.models, all or nothing. A listed model
    already present (same normalised key) is updated; listed_at is kept when the file has none."""
    listings = read_listings(Path(path), fmt)
    async with conn.transaction():
        return await _write(conn, listings, overwrite=True)


async def seed(conn: Conn) -> ImportResult:
    """Add the SDK's TEE_LLM models to og.models; idempotent, never overwrites imported rows."""
    listings = read_listings(SDK_MODELS)
    async with conn.transaction():
        return await _write(conn, listings, overwrite=False)


def check_role_name(role: str) -> str:
    """A role name usable unquoted: 1-63 lower-case letters, digits, underscores; not pg_*."""
    if not _ROLE.match(role) or role.startswith("pg_") or role in _RESERVED_ROLES:
        raise CatalogError(
            f"role name {role!r} must be 1-63 lower-case letters, digits or underscores, start "
            "with a letter or underscore, not start with pg_ and not be a reserved name"
        )
    return role


async def grant_readonly(
    conn: Conn, role: str, *, login: bool = False, password: str | None = None
) -> bool:
    """Create the role if missing (NOLOGIN unless login) and let it read schema og and nothing else:
    usage on og, select on every og table and view, the same on og objects the current user creates
    later (run migrate as that user), read-only transactions and no JIT by default. A role that is
    already a superuser, can create roles or databases, bypasses RLS, replicates, or is a member of
    another role is refused: it would read more than og. Returns True if the role was created."""
    check_role_name(role)
    if password is not None and not login:
        raise CatalogError("a password only makes sense for a LOGIN role (pass login=True)")
    async with conn.transaction():
        existing = await conn.fetchrow(
            """
            select r.rolsuper or r.rolcreaterole or r.rolcreatedb or r.rolbypassrls
                       or r.rolreplication as powerful,
                   exists (select 1 from pg_auth_members m where m.member = r.oid) as member
            from pg_roles r where r.rolname = $1
            """,
            role,
        )
        if existing is not None and (existing["powerful"] or existing["member"]):
            what = "has elevated attributes" if existing["powerful"] else "is a member of a role"
            raise CatalogError(
                f"role {role!r} already exists and {what}: it would read more than schema og; "
                "choose another name"
            )
        created = existing is None
        database = await conn.fetchval("select current_database()")
        statements: list[tuple[str, list[str]]] = []
        if created:
            statements.append(("create role %I " + ("login" if login else "nologin"), [role]))
        elif login:
            statements.append(("alter role %I login", [role]))
        if password is not None:
            statements.append(("alter role %I password %L", [role, password]))
        statements += [
            ("grant connect on database %I to %I", [database, role]),
            ("grant usage on schema og to %I", [role]),
            ("grant select on all tables in schema og to %I", [role]),
            ("alter default privileges in schema og grant select on tables to %I", [role]),
            ("alter role %I set default_transaction_read_only = on", [role]),
            # The og views are sub-second: JIT compilation would cost more than it saves.
            ("alter role %I set jit = off", [role]),
        ]
        for template, args in statements:
            # format() quotes identifiers (%I) and literals (%L) server-side.
            sql = await conn.fetchval(
                "select format($1::text, variadic $2::text[])", template, args
            )
            await conn.execute(sql)
    return created
