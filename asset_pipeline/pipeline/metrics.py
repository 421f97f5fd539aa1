"""Run metrics: progress every 10,000 assets, elapsed time per 10K, peak memory."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
EVERY = 10_000


class ProgressMeter:
    """Counts items passing through ``track``; every 10,000 it records a timing row and logs."""

    def __init__(self, log: Callable[[str], None], label: str, every: int = EVERY) -> None:
        self.log = log
        self.label = label
        self.every = every
        self.count = 0
        self.rows: list[dict[str, float | int]] = []
        self.started = time.perf_counter()
        self._last = self.started

    def track(self, items: Iterable[T]) -> Iterator[T]:
        every, count = self.every, self.count
        next_mark = (count // every + 1) * every
        try:
            for item in items:
                count += 1
                if count >= next_mark:
                    self.count = count
                    self._mark()
                    next_mark += every
                yield item
        finally:
            self.count = count

    def _mark(self) -> None:
        now = time.perf_counter()
        elapsed, chunk = now - self.started, now - self._last
        self._last = now
        rate = self.every / chunk if chunk > 0 else 0.0
        self.rows.append({"assets": self.count, "elapsed_s": round(elapsed, 3),
                          "seconds_for_10k": round(chunk, 3), "assets_per_s": round(rate)})
        self.log(f"{self.label}: {self.count:,} assets, {elapsed:.1f} s elapsed, {rate:,.0f}/s")

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def reset_peak_rss() -> None:
    """Start a new peak-memory window for this process (Linux; a no-op elsewhere)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    """Peak resident memory of this process since the last reset, in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
