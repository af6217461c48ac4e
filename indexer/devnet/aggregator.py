"""A local Walrus aggregator stand-in: serves /v1/blobs/{id} from a folder, with injectable faults.

Answers like the real aggregator (MystenLabs/walrus aggregator_openapi.yaml): 200 with the raw
bytes as application/octet-stream; errors with a JSON body {"error": {"code", "status",
"message", "details"}}. A blob id with no file is 404 (never stored, or expired).
Run it as a process: `python -m indexer.devnet.aggregator --dir D --port P [faults]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from indexer.devnet.anvil import PROJECT_ROOT, free_port
from indexer.devnet.errors import DevnetError
from indexer.devnet.procs import terminate

HOST = "127.0.0.1"
DEFAULT_PORT = 18547
STATE_FILE = "aggregator.json"
_STATUS = {403: "PERMISSION_DENIED", 404: "NOT_FOUND", 451: "UNAVAILABLE_FOR_LEGAL_REASONS",
           500: "INTERNAL", 503: "UNAVAILABLE"}
_MESSAGE = {
    403: "the blob size exceeds the maximum allowed size that can be served by this aggregator",
    404: "the requested blob ID does not exist on Walrus, ensure that it was entered correctly",
    451: "the requested blob has been blocked",
    500: "an internal server error has occurred, please report this error",
    503: "the requested blob is currently not available: retry later",
}


@dataclass(frozen=True)
class Faults:
    """Faults per blob id: the first N reads of every blob fail in the given way, in this order:
    404 (a CDN's cached 404 right after upload), then 503 BLOB_UNAVAILABLE, then 500, then a body
    cut short of its Content-Length (a reset mid-body). Blobs in too_large answer 403, in blocked
    451, in oversized are served padded to oversize_bytes. latency_s delays every answer."""

    not_found_first: int = 0
    unavailable_first: int = 0
    internal_first: int = 0
    truncate_first: int = 0
    latency_s: float = 0.0
    too_large: frozenset[str] = frozenset()
    blocked: frozenset[str] = frozenset()
    oversized: frozenset[str] = frozenset()
    oversize_bytes: int = 11 * 2**20


@dataclass
class Stats:
    requests: int = 0
    reads: Counter[str] = field(default_factory=Counter)  # blob id -> requests
    in_flight: int = 0
    max_in_flight: int = 0


def _error(code: int, blob_id: str) -> web.Response:
    status = _STATUS.get(code, "UNKNOWN")
    reason = "BLOB_UNAVAILABLE" if code == 503 else status
    details = [{"@type": "ErrorInfo", "reason": reason, "domain": "aggregator", "metadata": {"blob_id": blob_id}}]
    body = {"error": {"code": code, "status": status, "message": _MESSAGE.get(code, ""), "details": details}}
    return web.json_response(body, status=code)


class StandIn:
    """The stand-in's app over `blob_dir` (one file per blob id); start() binds 127.0.0.1."""

    def __init__(self, blob_dir: Path, faults: Faults | None = None) -> None:
        self.blob_dir = blob_dir
        self.faults = faults or Faults()
        self.stats = Stats()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        blob_id = request.match_info["blob_id"]
        s, f = self.stats, self.faults
        s.requests += 1
        s.reads[blob_id] += 1
        n = s.reads[blob_id]
        s.in_flight += 1
        s.max_in_flight = max(s.max_in_flight, s.in_flight)
        try:
            if f.latency_s:
                await asyncio.sleep(f.latency_s)
            for code, first in ((404, f.not_found_first), (503, f.unavailable_first), (500, f.internal_first)):
                if n <= first:
                    return _error(code, blob_id)
                n -= first
            if blob_id in f.too_large:
                return _error(403, blob_id)
            if blob_id in f.blocked:
                return _error(451, blob_id)
            path = self.blob_dir / blob_id
            if "/" in blob_id or blob_id.startswith(".") or not path.is_file():
                return _error(404, blob_id)
            body = path.read_bytes()
            if blob_id in f.oversized:
                body = body + b" " * max(0, f.oversize_bytes - len(body))
            if n <= f.truncate_first:
                resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
                resp.content_length = len(body) + 10
                await resp.prepare(request)
                await resp.write(body[: len(body) // 2])
                if request.transport is not None:
                    request.transport.close()
                return resp
            return web.Response(body=body, content_type="application/octet-stream")
        finally:
            s.in_flight -= 1

    async def start(self, port: int = 0) -> StandIn:
        app = web.Application()
        app.router.add_get("/v1/blobs/{blob_id}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.port = port or free_port()
        await web.TCPSite(self._runner, HOST, self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


# --- the devnet's persistent stand-in process ---------------------------------------------------

def _state(state_dir: Path) -> dict[str, object]:
    path = state_dir / STATE_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _is_standin(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"indexer.devnet.aggregator" in cmdline


def running_url(state_dir: Path) -> str | None:
    """URL of the devnet's stand-in when its process is alive."""
    st = _state(state_dir)
    pid = st.get("pid")
    return str(st["url"]) if isinstance(pid, int) and _is_standin(pid) else None


def start_process(state_dir: Path, port: int, *, latency_ms: int = 0) -> tuple[str, bool]:
    """Start the stand-in serving state_dir/walrus (idempotent); returns its URL and whether it was
    started now."""
    url = running_url(state_dir)
    if url is not None:
        return url, False
    blob_dir = state_dir / "walrus"
    blob_dir.mkdir(parents=True, exist_ok=True)
    log = (state_dir / "aggregator.log").open("ab")
    cmd = [sys.executable, "-m", "indexer.devnet.aggregator", "--dir", str(blob_dir), "--port", str(port),
           "--latency-ms", str(latency_ms)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True, cwd=PROJECT_ROOT)
    log.close()
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 15
    import urllib.error
    import urllib.request

    while True:
        try:
            urllib.request.urlopen(f"{url}/v1/blobs/probe", timeout=1)
        except urllib.error.HTTPError:
            break  # it answers (404)
        except OSError as e:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_pid(proc.pid)
                raise DevnetError(f"the Walrus stand-in did not start on port {port} ({e}); "
                                  f"see {state_dir / 'aggregator.log'}") from None
            time.sleep(0.1)
    (state_dir / STATE_FILE).write_text(json.dumps({"pid": proc.pid, "port": port, "url": url,
                                                    "dir": str(blob_dir)}, indent=2) + "\n")
    return url, True


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM the stand-in process `pid` (then SIGKILL); any other process is left alone."""
    if _is_standin(pid):
        terminate(pid, lambda: _is_standin(pid), timeout)


def stop_process(state_dir: Path) -> bool:
    """Stop the devnet's stand-in; True when one was running."""
    st = _state(state_dir)
    pid = st.get("pid")
    alive = isinstance(pid, int) and _is_standin(pid)
    if isinstance(pid, int):
        stop_pid(pid)
    (state_dir / STATE_FILE).unlink(missing_ok=True)
    return alive


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Local Walrus aggregator stand-in (loopback only).")
    p.add_argument("--dir", type=Path, required=True, help="folder holding one file per blob id")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--latency-ms", type=int, default=0, help="added before every answer")
    p.add_argument("--not-found-first", type=int, default=0)
    p.add_argument("--unavailable-first", type=int, default=0)
    a = p.parse_args(argv)
    faults = Faults(not_found_first=a.not_found_first, unavailable_first=a.unavailable_first,
                    latency_s=a.latency_ms / 1000)

    async def serve() -> None:
        standin = await StandIn(a.dir, faults).start(a.port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await standin.stop()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
