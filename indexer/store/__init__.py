"""Postgres: migrations, exactly-once range writes (rows + checkpoint in one transaction), reads.

One module per job (base, migrate, writes, ranges, counts, raw, rollback, chain_state, starts; chain_store
binds the ones follow and sync use to one chain: the Store protocol); this package is their one public
face, so callers write `store.commit_range`, `store.migrate`, ... ."""

from __future__ import annotations

from .base import SQL_DIR, Conn, Discontinuity, HashMismatch, Range, StoreError, lock_chain
from .chain_state import clear_stopped, mark_stopped, save_chain_state, stopped_reason
from .chain_store import PgStore, Store
from .counts import table_counts, undecoded_counts
from .migrate import MIGRATION_LOCK, migrate, migration_files, view_files, view_names, views_checksum
from .ranges import add_range, check_seams, commit_range, gaps, indexed_ranges, overlaps_indexed
from .raw import all_tees, delete_decoded, raw_block_bounds, read_raw
from .rollback import (
    ROLLBACK_TABLES,
    WALRUS_DERIVED_TABLES,
    hash_at,
    hashes_below,
    prune_blocks,
    rollback,
    stored_hashes,
    tip,
)
from .starts import contract_starts, save_contract_start
from .writes import TEES_REFRESH, refresh_tees, write_rows

__all__ = [
    "MIGRATION_LOCK",
    "ROLLBACK_TABLES",
    "SQL_DIR",
    "TEES_REFRESH",
    "WALRUS_DERIVED_TABLES",
    "Conn",
    "Discontinuity",
    "HashMismatch",
    "PgStore",
    "Range",
    "Store",
    "StoreError",
    "add_range",
    "all_tees",
    "check_seams",
    "clear_stopped",
    "commit_range",
    "contract_starts",
    "delete_decoded",
    "gaps",
    "hash_at",
    "hashes_below",
    "indexed_ranges",
    "lock_chain",
    "mark_stopped",
    "migrate",
    "migration_files",
    "overlaps_indexed",
    "prune_blocks",
    "raw_block_bounds",
    "read_raw",
    "refresh_tees",
    "rollback",
    "save_chain_state",
    "save_contract_start",
    "stopped_reason",
    "stored_hashes",
    "table_counts",
    "tip",
    "undecoded_counts",
    "view_files",
    "view_names",
    "views_checksum",
    "write_rows",
]
