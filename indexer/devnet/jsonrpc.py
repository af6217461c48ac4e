"""Minimal synchronous JSON-RPC client with batching, for talking to a local anvil node."""

from __future__ import annotations

import http.client
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson

from indexer.devnet.errors import DevnetError

Call = tuple[str, Sequence[Any]]


class RpcClient:
    """One keep-alive HTTP connection to a JSON-RPC endpoint; not thread-safe (one per thread)."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise DevnetError(f"devnet RPC URL must be http://host:port, got {url!r}")
        self.url = url
        self._host = parts.hostname
        self._port = parts.port or 80
        self._path = parts.path or "/"
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _post(self, body: bytes) -> Any:
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            try:
                self._conn.request(
                    "POST", self._path, body, {"Content-Type": "application/json"}
                )
                resp = self._conn.getresponse()
                raw = resp.read()
            except (OSError, http.client.HTTPException) as e:
                self.close()
                if attempt == 0 and isinstance(e, http.client.RemoteDisconnected):
                    continue  # a stale keep-alive connection: reconnect once
                raise DevnetError(f"JSON-RPC to {self.url} failed: {e}") from e
            if resp.status != 200:
                raise DevnetError(f"JSON-RPC to {self.url}: HTTP {resp.status}: {raw[:200]!r}")
            return orjson.loads(raw)
        raise AssertionError("unreachable")

    def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        reply = self._post(orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                                         "params": list(params)}))
        return _result(method, reply)

    def batch(self, calls: Sequence[Call]) -> list[Any]:
        """Send calls as one JSON-RPC batch; results in call order; any error raises."""
        if not calls:
            return []
        body = orjson.dumps(
            [{"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)}
             for i, (m, p) in enumerate(calls)]
        )
        replies = self._post(body)
        if not isinstance(replies, list) or len(replies) != len(calls):
            raise DevnetError(f"JSON-RPC batch to {self.url}: malformed reply")
        by_id = {r.get("id"): r for r in replies}
        return [_result(calls[i][0], by_id.get(i)) for i in range(len(calls))]


def _result(method: str, reply: Any) -> Any:
    if not isinstance(reply, dict):
        raise DevnetError(f"{method}: malformed JSON-RPC reply")
    if "error" in reply:
        err = reply["error"]
        msg = err.get("message") if isinstance(err, dict) else err
        raise DevnetError(f"{method}: {msg}")
    return reply.get("result")
