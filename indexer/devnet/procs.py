"""Stop a process the devnet started: SIGTERM, wait for it to go, then SIGKILL."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable


def terminate(pid: int, alive: Callable[[], bool], timeout: float = 10.0) -> None:
    """SIGTERM pid and reap it until alive() is false; SIGKILL it after timeout seconds and wait up
    to two more. alive() names the process (guards against pid reuse), so call it only for ours."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not alive():
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(40):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not alive():
            return
        time.sleep(0.05)
