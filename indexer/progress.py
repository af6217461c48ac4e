"""A terminal progress bar for long CLI work: blocks/s and logs/s, drawn on stderr."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn


class BackfillProgress:
    def __init__(self, chain: str, total_blocks: int) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rates]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._progress.add_task(chain, total=total_blocks, rates="")
        self._start = time.monotonic()
        self._blocks = 0
        self._logs = 0

    def __enter__(self) -> BackfillProgress:
        self._progress.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def advance(self, blocks: int, logs: int) -> None:
        self._blocks += blocks
        self._logs += logs
        dt = max(time.monotonic() - self._start, 1e-6)
        rates = f"{self._blocks / dt:,.0f} blocks/s  {self._logs / dt:,.0f} logs/s"
        self._progress.update(self._task, advance=blocks, rates=rates)
