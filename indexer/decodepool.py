"""The decode process: one per og-indexer process, shared by the backfills running in it and kept a
little while after the last one ends, so that the next backfill (the other chain, a live follower's
catch-up) does not pay the process start-up again (about half a second of CPU, measured)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor

from .encode import exit_with_parent

IDLE_SECONDS = 30.0  # how long an unused decode process is kept

_pool: ProcessPoolExecutor | None = None
_users = 0
_idle: asyncio.TimerHandle | None = None


def _start() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=exit_with_parent,
        initargs=(os.getpid(),),
    )


def close() -> None:
    """Stop the decode process (if any, and unused); the next backfill starts a new one."""
    global _pool, _idle
    if _idle is not None:
        _idle.cancel()
        _idle = None
    if _pool is not None and _users == 0:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


def discard(pool: Executor) -> None:
    """A broken decode process (killed, crashed) is not handed out again."""
    global _pool
    if pool is _pool:
        _pool = None
        pool.shutdown(wait=False, cancel_futures=True)


@contextlib.contextmanager
def decode_process(wanted: bool) -> Iterator[Executor | None]:
    """The shared decode process while the block runs (None when not wanted or on one core)."""
    global _pool, _users, _idle
    if not wanted or (os.cpu_count() or 1) < 2:
        yield None
        return
    if _idle is not None:
        _idle.cancel()
        _idle = None
    if _pool is None:
        _pool = _start()
    pool = _pool
    _users += 1
    try:
        yield pool
    finally:
        _users -= 1
        if _users == 0 and _pool is not None:
            _idle = asyncio.get_running_loop().call_later(IDLE_SECONDS, close)
