"""The root of the failures a user can cause and act on; anything else is a bug and keeps its traceback.

Each stage defines its own subclasses beside its code (ConfigError, RpcError, StoreError, SyncError,
DecodeError, CatalogError, ReportError, DevnetError); the CLI turns exactly these (plus a database's
refusal and an operating-system error such as a refused connection) into one line on stderr."""

from __future__ import annotations


class OgIndexerError(Exception):
    """A failure og-indexer reports to its user as one line: bad input, configuration, an RPC or
    database that refuses, a chain that cannot be followed safely."""
