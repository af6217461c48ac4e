"""Walrus aggregator HTTP client: GET /v1/blobs/{id} with fail-over, retries and a size cap."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
import orjson

from .parse import clean
from .rows import BlobRow

log = logging.getLogger("og_indexer.walrus")

BLOB_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")  # 32 bytes, unpadded base64url
_FINAL = {403: "too_large", 451: "blocked"}


@dataclass(frozen=True)
class FetchOptions:
    concurrency: int = 16  # requests in flight at most
    timeout_s: float = 30.0  # per request, body included
    max_bytes: int = 10 * 2**20  # a longer body is cut here and kept as `truncated`
    not_found_attempts: int = 3  # 404 is asked again: a CDN may cache a 404 right after upload
    retry_attempts: int = 5  # 5xx, 429, timeouts and resets
    backoff_s: float = 1.0  # first wait between attempts; doubles each time
    max_backoff_s: float = 30.0


class _Retry(Exception):
    def __init__(self, message: str, http_status: int | None) -> None:
        super().__init__(message)
        self.http_status = http_status


def _error_text(status: int, body: bytes) -> str:
    """The aggregator's `{"error": {"code", "status", "message"}}`, or the start of the body."""
    try:
        err = orjson.loads(body).get("error") or {}
        text = " ".join(str(err.get(k)) for k in ("status", "message") if err.get(k))
    except (orjson.JSONDecodeError, AttributeError):
        text = body[:200].decode("utf-8", "replace")
    return clean(f"HTTP {status}: {text}".strip(), 300)


class WalrusClient:
    """One aiohttp session over the configured aggregators. An aggregator that fails is left for
    the next one (round robin), as for RPC URLs; the outcome of every blob is a BlobRow."""

    def __init__(self, urls: Sequence[str], opts: FetchOptions | None = None) -> None:
        if not urls:
            raise ValueError("no Walrus aggregator URL configured")
        self.urls = tuple(u.rstrip("/") for u in urls)
        self.opts = opts or FetchOptions()
        self._preferred = 0
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> WalrusClient:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.opts.concurrency),
            timeout=aiohttp.ClientTimeout(total=self.opts.timeout_s),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    def _row(self, blob_id: str, status: str, http: int | None, attempts: int, error: str | None,
             aggregator: str | None, body: bytes | None = None) -> BlobRow:
        return BlobRow(
            blob_id, status, http, attempts, error, aggregator, datetime.now(UTC),
            len(body) if body is not None else None,
            hashlib.sha256(body).hexdigest() if body is not None else None, body,
        )

    async def fetch(self, blob_id: str) -> BlobRow:
        """Fetch one blob until it is served or its outcome is final; never raises for HTTP or
        network failures (they are the row's status and last_error)."""
        if not BLOB_ID.match(blob_id):
            return self._row(blob_id, "rejected", None, 0, "not a Walrus blob id (43 base64url characters)", None)
        o = self.opts
        attempts = not_found = 0
        while True:
            base = self.urls[self._preferred % len(self.urls)]
            attempts += 1
            try:
                return await self._once(base, blob_id, attempts)
            except _Retry as e:
                last, http = str(e), e.http_status
            if http == 404:
                not_found += 1
                if not_found >= o.not_found_attempts:
                    return self._row(blob_id, "missing", 404, attempts, last, base)
            elif attempts - not_found >= o.retry_attempts:
                return self._row(blob_id, "failed", http, attempts, last, base)
            self._preferred = (self._preferred + 1) if len(self.urls) > 1 else 0
            delay = min(o.max_backoff_s, o.backoff_s * 2 ** (attempts - 1))
            log.debug("walrus_retry blob=%s attempt=%d error=%s wait_s=%.2f", blob_id, attempts, last, delay)
            await asyncio.sleep(delay)

    async def _once(self, base: str, blob_id: str, attempts: int) -> BlobRow:
        assert self._session is not None, "use WalrusClient as an async context manager"
        try:
            async with self._session.get(f"{base}/v1/blobs/{blob_id}") as resp:
                if resp.status == 200:
                    body, cut = await self._read_capped(resp)
                    return self._row(blob_id, "truncated" if cut else "fetched", 200, attempts,
                                     f"body longer than {self.opts.max_bytes} bytes, cut" if cut else None,
                                     base, body)
                text = _error_text(resp.status, await resp.content.read(4096))
                if resp.status in _FINAL:
                    return self._row(blob_id, _FINAL[resp.status], resp.status, attempts, text, base)
                if resp.status in (404, 408, 429) or resp.status >= 500:
                    raise _Retry(text, resp.status)
                return self._row(blob_id, "rejected", resp.status, attempts, text, base)
        except (aiohttp.ClientError, TimeoutError) as e:
            raise _Retry(clean(f"{type(e).__name__}: {e}", 300), None) from None

    async def _read_capped(self, resp: aiohttp.ClientResponse) -> tuple[bytes, bool]:
        cap = self.opts.max_bytes
        parts: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(1 << 16):
            parts.append(chunk)
            size += len(chunk)
            if size > cap:
                return b"".join(parts)[:cap], True
        return b"".join(parts), False
