"""Errors raised by the devnet: one class, with a message that says what failed and where."""

from indexer.errors import OgIndexerError


class DevnetError(OgIndexerError, RuntimeError):
    """A devnet operation failed (anvil missing or unreachable, an RPC error, a bad simulation)."""
