"""Latency summaries the herd reports (bid acknowledgement, decision -> observer). Pure.

Filled by the load clients (:mod:`gavel.herd.bidders`, :mod:`gavel.herd.observers`) and read by
the checker's verdict. Twenty thousand observers times a few hundred prices are millions of
samples, so a histogram keeps counts per tenth of a millisecond instead of the samples: adding
one is a dict update, and quantiles are exact to 0.1 ms.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

RESOLUTION_MS = 0.1


@dataclass(frozen=True, slots=True)
class Summary:
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "count": self.count,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
        }


@dataclass(slots=True)
class Histogram:
    """Counts of latencies rounded up to :data:`RESOLUTION_MS`; negative values (clocks a
    little apart) count as 0."""

    counts: Counter[int] = field(default_factory=Counter)

    def add(self, ms: float) -> None:
        self.counts[max(0, math.ceil(ms / RESOLUTION_MS))] += 1

    def merge(self, other: Histogram) -> None:
        self.counts.update(other.counts)

    def __len__(self) -> int:
        return sum(self.counts.values())

    def quantile(self, q: float) -> float:
        """The smallest recorded latency with at least ``q`` of the samples at or below it."""
        total = len(self)
        if total == 0:
            return 0.0
        wanted, seen = max(1, math.ceil(q * total)), 0
        for tick in sorted(self.counts):
            seen += self.counts[tick]
            if seen >= wanted:
                return round(tick * RESOLUTION_MS, 1)
        return round(max(self.counts) * RESOLUTION_MS, 1)

    def summary(self) -> Summary:
        if not self.counts:
            return Summary(0, 0.0, 0.0, 0.0)
        top = round(max(self.counts) * RESOLUTION_MS, 1)
        return Summary(len(self), self.quantile(0.5), self.quantile(0.99), top)

    def cdf(self, points: int = 200) -> list[tuple[float, float]]:
        """The cumulative distribution as at most ``points`` (ms, share at or below) pairs,
        thinned evenly over the recorded ticks, always keeping the last (share 1.0)."""
        total = len(self)
        if total == 0:
            return []
        ticks = sorted(self.counts)
        step = max(1, math.ceil(len(ticks) / points))
        out, seen = [], 0
        for i, tick in enumerate(ticks):
            seen += self.counts[tick]
            if i % step == step - 1 or i == len(ticks) - 1:
                out.append((round(tick * RESOLUTION_MS, 1), round(seen / total, 5)))
        return out
