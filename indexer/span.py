"""The eth_getLogs span in force: follows the provider's refusals and the density of what it returns."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .chain import Log
from .rpc import RangeTooLarge

# What one eth_getLogs call should bring back: enough to repay a call's fixed costs (a round trip,
# a header batch, a commit), small enough that several ranges are in flight at once (fetch, decode
# and write overlap) and that memory stays bounded whatever the density. Measured on the bench's
# dense-payload shape (concurrency 4, decode process): 5,000 logs / 4 MiB peaked at 315 MiB RSS,
# 2,000 / 1 MiB at 190 MiB, 1,500 / 1 MiB at 180 MiB, at the same logs/s within the noise.
TARGET_LOGS = 2_000
TARGET_BYTES = 1 << 20  # log payload: data plus topics
# The first span of a backfill, before anything is known of the density: a dense range must not be
# fetched whole by the first call; a sparse one reaches the ceiling after a few calls.
PROBE_BLOCKS = 100
GROWTH = 4  # at most this many times the blocks of an observed call, per observation


def payload_bytes(logs: Sequence[Log]) -> int:
    """Bytes a range's logs carry (data and topics): what its answer, rows and COPY grow with."""
    return sum(len(g.data) + 32 * len(g.topics) for g in logs)


class SpanControl:
    """The eth_getLogs span in force, never above the configured ceiling, as the smaller of two limits.

    - The provider's: shrinks on a refusal (to the range it suggests, else the span it states, else
      half), and doubles back after every 4 successes (`succeeded`).
    - The density's (only when answers are `observed`): the span that brings about TARGET_LOGS logs
      or TARGET_BYTES bytes per call at the density seen lately (logs and bytes per block: a denser
      call is believed at once, a sparser one halves the way), growing back on sparse stretches by at
      most GROWTH times the span per observation.
      Until the first observation it is PROBE_BLOCKS (`probe=True`), else the ceiling.
    """

    def __init__(
        self,
        ceiling: int,
        *,
        probe: bool = False,
        target_logs: int = TARGET_LOGS,
        target_bytes: int = TARGET_BYTES,
    ) -> None:
        self.ceiling = max(1, ceiling)
        self.target_logs = max(1, target_logs)
        self.target_bytes = max(1, target_bytes)
        self._allowed = self.ceiling  # the provider's limit, as learnt from refusals
        self._dense = min(self.ceiling, PROBE_BLOCKS) if probe else self.ceiling
        self._logs_per_block: float | None = None
        self._bytes_per_block = 0.0
        self._ok = 0

    @property
    def span(self) -> int:
        return max(1, min(self.ceiling, self._allowed, self._dense))

    def refused(self, lo: int, hi: int, err: RangeTooLarge) -> int:
        """The provider refused [lo, hi]: the span it allows from now on."""
        asked = hi - lo + 1
        if err.hint is not None and err.hint[0] == lo and lo <= err.hint[1] < hi:
            new = err.hint[1] - lo + 1
        elif err.max_span is not None and err.max_span < asked:
            new = err.max_span
        else:
            new = asked // 2
        self._allowed = max(1, min(self.span, new))
        self._ok = 0
        return self.span

    def succeeded(self) -> None:
        """A call was answered: after 4 in a row the provider's limit doubles (up to the ceiling)."""
        self._ok += 1
        if self._ok >= 4 and self._allowed < self.ceiling:
            self._allowed = min(self.ceiling, self._allowed * 2)
            self._ok = 0

    def observed(self, blocks: int, logs: int, nbytes: int) -> int:
        """A call over `blocks` blocks returned `logs` logs carrying `nbytes` bytes: the span from now on."""
        blocks = max(1, blocks)
        lpb, bpb = logs / blocks, nbytes / blocks
        if self._logs_per_block is None:
            self._logs_per_block, self._bytes_per_block = lpb, bpb
        else:  # a denser call counts at once (memory); a sparser one half, so one lull is not a trend
            self._logs_per_block = max(lpb, (self._logs_per_block + lpb) / 2)
            self._bytes_per_block = max(bpb, (self._bytes_per_block + bpb) / 2)
        wanted = min(
            self.target_logs / self._logs_per_block if self._logs_per_block > 0 else math.inf,
            self.target_bytes / self._bytes_per_block if self._bytes_per_block > 0 else math.inf,
        )
        growth_cap = GROWTH * max(blocks, self._dense)
        self._dense = int(max(1, min(self.ceiling, growth_cap, wanted)))
        return self.span
