"""Find or install anvil, start and stop local nodes, and manage the two persistent devnet nodes."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from indexer.config import BASE, OPENGRADIENT
from indexer.devnet.errors import DevnetError
from indexer.devnet.procs import terminate


def devnet_root(package_dir: Path) -> Path:
    """Where .devnet/ (node state) and .tools/ (npm-installed anvil) go: the source checkout holding
    the package (`make demo`, tests), else, for a wheel install, the current directory (never the
    Python installation)."""
    checkout = package_dir.resolve().parents[1]
    return checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()


PROJECT_ROOT = devnet_root(Path(__file__).parent)
TOOLS_DIR = PROJECT_ROOT / ".tools"
ANVIL_PACKAGE = "@foundry-rs/anvil-linux-amd64"
LOCAL_ANVIL = TOOLS_DIR / "node_modules" / ANVIL_PACKAGE / "bin" / "anvil"
HOST = "127.0.0.1"
# Genesis time of a devnet node: before any simulated window (2026-01-01T00:00:00Z).
DEFAULT_GENESIS = 1767225600
BLOCK_GAS_LIMIT = 2_000_000_000


def find_anvil(install: bool = True) -> Path:
    """$OG_ANVIL, then the project-local .tools/ copy, then PATH; npm-installs into .tools/."""
    env = os.environ.get("OG_ANVIL")
    if env:
        path = Path(env)
        if not os.access(path, os.X_OK):
            raise DevnetError(f"OG_ANVIL={env} is not an executable file")
        return path
    if os.access(LOCAL_ANVIL, os.X_OK):
        return LOCAL_ANVIL
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    if not install:
        raise DevnetError("anvil not found (set OG_ANVIL, or install it into .tools/)")
    npm = shutil.which("npm")
    if npm is None:
        raise DevnetError(
            f"anvil not found and npm is missing: install Node.js/npm, or put anvil on PATH, "
            f"or set OG_ANVIL (npm would install {ANVIL_PACKAGE} into {TOOLS_DIR})"
        )
    cmd = [npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(TOOLS_DIR),
           ANVIL_PACKAGE]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not os.access(LOCAL_ANVIL, os.X_OK):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise DevnetError(f"npm install {ANVIL_PACKAGE} failed: {tail[0]}")
    return LOCAL_ANVIL


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((HOST, port)) == 0


def pid_is_anvil(pid: int, port: int | None = None) -> bool:
    """pid is a live anvil process (listening on `port`, when given): guards against pid reuse."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if not args or b"anvil" not in args[0].rsplit(b"/", 1)[-1]:
        return False
    return port is None or (b"--port", str(port).encode()) in itertools.pairwise(args)


@dataclass(frozen=True)
class AnvilNode:
    """A running anvil process on 127.0.0.1 (usable as a context manager that stops it)."""

    url: str
    chain_id: int
    port: int
    pid: int
    log_path: Path | None = None

    def __enter__(self) -> AnvilNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, timeout: float = 10.0) -> None:
        stop_pid(self.pid, self.port, timeout)


def anvil_home(port: int) -> Path:
    """The HOME an anvil on this port runs with. anvil pages old states out of memory into
    ~/.foundry/anvil/tmp and never deletes them (tens of GB over a day of tests, seen here): a folder
    per node, emptied at its start and removed when it is stopped, keeps them out of the user's home."""
    return Path(tempfile.gettempdir()) / f"og-indexer-anvil-{port}"


def stop_pid(pid: int, port: int | None = None, timeout: float = 10.0) -> None:
    """SIGTERM an anvil process (then SIGKILL) and remove its home folder; a pid that is not that
    anvil is left alone (its port's folder goes only when nothing listens there)."""
    if not pid_is_anvil(pid, port):
        if port is not None and not port_in_use(port):
            shutil.rmtree(anvil_home(port), ignore_errors=True)
        return
    terminate(pid, lambda: pid_is_anvil(pid, port), timeout)
    if port is not None:  # the node is gone or going: its paged-out states with it
        shutil.rmtree(anvil_home(port), ignore_errors=True)


# A node for long empty stretches (`keep_history=False`). anvil 1.7.1 copies its whole state for every
# block it mines and keeps the copies of the last ~3,600 blocks (paged to disk as JSON); that state
# grows by a block hash per block, and from Prague on the EIP-2935 contract gains a storage slot per
# block (up to 8,191), so anvil_mine slows down as the chain grows: measured 52-146 blocks/s over
# 4k-10k blocks, 425 KB of disk per block. Cancun (no EIP-2935) without history mines 53,000 blocks/s
# steadily up to 1M blocks (RSS ~1.9 KB per block) but serves state (eth_getCode, eth_call) at the
# head only; blocks, receipts and logs stay queryable.
NO_HISTORY_ARGS = ("--hardfork", "cancun", "--prune-history")


def anvil_args(anvil: Path, chain_id: int, port: int, timestamp: int, *, keep_history: bool = True) -> list[str]:
    return [
        str(anvil),
        "--host", HOST,
        "--port", str(port),
        "--chain-id", str(chain_id),
        "--timestamp", str(timestamp),
        "--auto-impersonate",
        "--gas-price", "0",
        "--block-base-fee-per-gas", "0",
        "--gas-limit", str(BLOCK_GAS_LIMIT),
        "--no-mining",
        "--order", "fifo",
        "--no-request-size-limit",
        "--accounts", "1",
        *(() if keep_history else NO_HISTORY_ARGS),
    ]


def start_anvil(
    chain_id: int,
    port: int | None = None,
    *,
    timestamp: int = DEFAULT_GENESIS,
    log_path: Path | None = None,
    detach: bool = False,
    ready_timeout: float = 20.0,
    keep_history: bool = True,
) -> AnvilNode:
    """Start anvil (no automining, zero fees, auto-impersonation) and wait until it answers.

    detach: put it in its own session so it outlives this process (the persistent devnet).
    keep_history=False: mines empty blocks fast but keeps no historical state (NO_HISTORY_ARGS).
    """
    port = free_port() if port is None else port
    if port_in_use(port):
        raise DevnetError(f"port {port} on {HOST} is already in use")
    args = anvil_args(find_anvil(), chain_id, port, timestamp, keep_history=keep_history)
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    home = anvil_home(port)
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    with open(log_path or os.devnull, "wb") as log:
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=detach, env={**os.environ, "HOME": str(home)},
        )
    node = AnvilNode(f"http://{HOST}:{port}", chain_id, port, proc.pid, log_path)
    try:
        wait_ready(node.url, chain_id, ready_timeout, proc)
    except DevnetError:
        stop_pid(proc.pid, port)
        raise
    return node


def start_chain_pair(*, keep_history: bool = True) -> tuple[AnvilNode, AnvilNode]:
    """Throwaway nodes for OpenGradient (10740) and Base (8453) on free ports; if the second fails
    to start, the first is stopped."""
    og = start_anvil(OPENGRADIENT.chain_id, keep_history=keep_history)
    try:
        base = start_anvil(BASE.chain_id, keep_history=keep_history)
    except BaseException:
        og.stop()
        raise
    return og, base


def wait_ready(
    url: str, chain_id: int, timeout: float, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll eth_chainId until the node answers with chain_id."""
    from indexer.devnet.anvil_client import AnvilClient  # web3 takes a second to import: on use

    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise DevnetError(f"anvil for {url} exited with code {proc.returncode} at start-up")
        try:
            with AnvilClient(url, timeout=2.0) as rpc:
                got = int(rpc.call("eth_chainId"), 16)
        except DevnetError as e:
            last = str(e)
            time.sleep(0.05)
            continue
        if got != chain_id:
            raise DevnetError(f"{url} answers chain id {got}, expected {chain_id}")
        return
    raise DevnetError(f"anvil at {url} not ready after {timeout:.0f}s ({last})")
