"""How long the writer's steps took, kept as histogram counts for ``/metrics``.

A slow answer under load is usually one of a few stalls: a commit group that took long
(its CPU, or its wait for the interpreter lock while the event loop runs), a WAL restart
holding the writers, a collection pausing the process. Counting each by duration, where
it happens, lets an operator (and figure 8 of the benchmarks) tell which one it was.
Recording is a few list operations, once per group, restart or collection.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from dataclasses import dataclass, field

BOUNDS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)
"""Upper bounds of the buckets, in seconds (the last bucket is everything above)."""


@dataclass
class Histogram:
    """Counts by bucket and their sum."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BOUNDS) + 1))
    total: float = 0.0

    def add(self, seconds: float) -> None:
        self.counts[bisect_left(BOUNDS, seconds)] += 1
        self.total += seconds

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[str, int]]:
        """Prometheus buckets: ``(le, count at or below)``, ``+Inf`` last."""
        out, running = [], 0
        for bound, n in zip((*BOUNDS, float("inf")), self.counts, strict=True):
            running += n
            out.append(("+Inf" if bound == float("inf") else repr(bound), running))
        return out


class WriterTimings:
    """The group writer's and the checkpointer's durations (written by their threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.group = Histogram()
        """From taking a group off the queue to its COMMIT (counted before its answers go back)."""
        self.group_cpu = 0.0
        """CPU seconds of the writer's thread in those groups (SQLite only: PostgreSQL's run on the loop)."""
        self.works = 0
        self.restart_hold = Histogram()
        """How long each WAL restart held the writers."""
        self.restarts_deferred = 0
        self.cap_waits = Histogram()
        """How long the writer waited for a restart once the WAL had passed its cap."""

    def grouped(self, seconds: float, cpu: float | None, works: int) -> None:
        with self._lock:
            self.group.add(seconds)
            if cpu is not None:
                self.group_cpu += cpu
            self.works += works

    def restarted(self, held: float, done: bool) -> None:
        with self._lock:
            self.restart_hold.add(held)
            if not done:
                self.restarts_deferred += 1

    def capped(self, waited: float) -> None:
        with self._lock:
            self.cap_waits.add(waited)
