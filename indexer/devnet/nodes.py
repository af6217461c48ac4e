"""The two persistent devnet nodes (OpenGradient 10740, Base 8453): up, down, status, URLs.

State (pids, ports, log files) lives in `.devnet/` at the project root (git-ignored).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from indexer.config import BASE, OPENGRADIENT
from indexer.devnet.anvil import DEFAULT_GENESIS, PROJECT_ROOT, pid_is_anvil, start_anvil, stop_pid
from indexer.devnet.contracts import install_chain
from indexer.devnet.errors import DevnetError

STATE_DIR = PROJECT_ROOT / ".devnet"
STATE_FILE = "nodes.json"
GROUND_TRUTH_FILE = "ground_truth.json"
DEFAULT_OG_PORT = 18545
DEFAULT_BASE_PORT = 18546
CHAIN_IDS = {OPENGRADIENT.name: OPENGRADIENT.chain_id, BASE.name: BASE.chain_id}


@dataclass(frozen=True)
class NodeStatus:
    name: str
    chain_id: int
    port: int
    url: str
    pid: int
    log: str
    running: bool
    block: int | None  # head block number when running


def _state_path(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def _load(state_dir: Path) -> dict[str, dict[str, object]]:
    path = _state_path(state_dir)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DevnetError(f"devnet state {path} is unreadable ({e}); delete it and retry") from e
    if not isinstance(data, dict):
        raise DevnetError(f"devnet state {path} is malformed; delete it and retry")
    return data


def _probe(entry: dict[str, object], name: str, ask: bool = True) -> NodeStatus:
    """ask=False: running means the recorded anvil process is alive, without asking the node (no
    web3 import: `og-indexer --devnet` only needs the URLs)."""
    try:
        chain_id, port, pid = int(str(entry["chain_id"])), int(str(entry["port"])), \
            int(str(entry["pid"]))
        url, log = str(entry["url"]), str(entry["log"])
    except (KeyError, ValueError) as e:
        raise DevnetError(f"devnet state for {name} is malformed ({e}); run `devnet down`") from e
    if not ask:
        alive = pid_is_anvil(pid, port)
        return NodeStatus(name, chain_id, port, url, pid, log, alive, None)
    from indexer.devnet.anvil_client import AnvilClient  # web3 takes a second to import: on use

    block: int | None = None
    if pid_is_anvil(pid, port):
        try:
            with AnvilClient(url, timeout=2.0) as rpc:
                if int(rpc.call("eth_chainId"), 16) == chain_id:
                    block = int(rpc.call("eth_blockNumber"), 16)
        except DevnetError:
            block = None
    return NodeStatus(name, chain_id, port, url, pid, log, block is not None, block)


def status(state_dir: Path = STATE_DIR) -> list[NodeStatus]:
    """The recorded nodes and whether each one answers."""
    return [_probe(entry, name) for name, entry in sorted(_load(state_dir).items())]


def up(
    og_port: int = DEFAULT_OG_PORT,
    base_port: int = DEFAULT_BASE_PORT,
    state_dir: Path = STATE_DIR,
    genesis: int = DEFAULT_GENESIS,
) -> tuple[list[NodeStatus], list[str]]:
    """Start whichever of the two nodes is not running and install the emitters.

    Returns every node's status and the names of the nodes started now (empty: all were up).
    """
    from indexer.devnet.anvil_client import AnvilClient  # web3 takes a second to import: on use

    state = _load(state_dir)
    started: list[str] = []
    for name, port in ((OPENGRADIENT.name, og_port), (BASE.name, base_port)):
        if name in state and _probe(state[name], name).running:
            continue
        if name in state:  # recorded but not answering: make sure nothing of it lingers
            old = _probe(state[name], name)
            stop_pid(old.pid, old.port)
        log = state_dir / f"{name}.log"
        node = start_anvil(CHAIN_IDS[name], port, timestamp=genesis, log_path=log, detach=True)
        state[name] = {"chain_id": node.chain_id, "port": node.port, "pid": node.pid,
                       "url": node.url, "log": str(log)}
        started.append(name)
        state_dir.mkdir(parents=True, exist_ok=True)
        _state_path(state_dir).write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
        with AnvilClient(node.url) as rpc:
            install_chain(rpc)
    return status(state_dir), started


def down(state_dir: Path = STATE_DIR) -> list[str]:
    """Stop the recorded nodes and forget them; returns the names that were running."""
    stopped = []
    for node in status(state_dir):
        if node.running:
            stopped.append(node.name)
        stop_pid(node.pid, node.port)
    _state_path(state_dir).unlink(missing_ok=True)
    return stopped


def devnet_urls(state_dir: Path = STATE_DIR) -> dict[str, str]:
    """RPC URL per chain name of the running devnet; raises DevnetError when it is not up."""
    nodes = {name: _probe(entry, name, ask=False) for name, entry in _load(state_dir).items()}
    missing = [name for name in CHAIN_IDS if name not in nodes or not nodes[name].running]
    if missing:
        raise DevnetError(f"devnet node(s) not running: {', '.join(missing)} "
                          f"(start them with `og-indexer devnet up`)")
    return {name: nodes[name].url for name in CHAIN_IDS}
