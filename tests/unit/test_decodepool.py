"""The shared decode process: reused by consecutive backfills, closed when idle, replaced when broken."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool

import pytest

from indexer import decodepool


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    decodepool.close()
    yield
    decodepool.close()


def _worker_pid() -> int:
    return os.getpid()


async def _pid_in(pool: object) -> int:
    return await asyncio.get_running_loop().run_in_executor(pool, _worker_pid)  # type: ignore[arg-type]


def test_not_wanted_gives_no_process() -> None:
    with decodepool.decode_process(False) as pool:
        assert pool is None


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the decode process is only used on two or more cores")
def test_consecutive_backfills_share_one_process_until_it_is_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decodepool, "IDLE_SECONDS", 0.2)

    async def go() -> None:
        with decodepool.decode_process(True) as first:
            pid = await _pid_in(first)
        with decodepool.decode_process(True) as second:  # the next backfill, before the idle delay
            assert second is first
            assert await _pid_in(second) == pid
        await asyncio.sleep(0.5)  # idle past the delay: the process is stopped
        with decodepool.decode_process(True) as third:
            assert third is not first
            assert await _pid_in(third) != pid

    asyncio.run(go())


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the decode process is only used on two or more cores")
def test_a_killed_process_is_replaced() -> None:
    async def go() -> None:
        with decodepool.decode_process(True) as pool:
            os.kill(await _pid_in(pool), signal.SIGKILL)
            with pytest.raises(BrokenProcessPool):
                for _ in range(50):  # the pool notices the death on its next task
                    await _pid_in(pool)
                    await asyncio.sleep(0.05)
            assert pool is not None
            decodepool.discard(pool)
        with decodepool.decode_process(True) as fresh:
            assert fresh is not pool
            assert await _pid_in(fresh) != os.getpid()

    asyncio.run(go())
