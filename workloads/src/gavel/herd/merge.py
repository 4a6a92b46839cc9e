"""What each client process of a herd recorded, and how the parent merges them. Pure.

Filled by :mod:`gavel.herd.crew` in every client process and sent back to the parent
(:mod:`gavel.herd.crews`), which merges them with :func:`merge` before the checker runs. The
merge is exact: answers are concatenated, histograms add their counts (so quantiles are those
of all samples), observer views are kept one by one, per-second series add up (the stalest
price of a second is the worst of any process), and the first price each seq showed is kept
per region, with any process that saw another one recorded as a conflict the checker reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gavel.herd.latency import Histogram
from gavel.herd.records import Answer, RegionSightings
from gavel.herd.series import Series

WORST_OF = ("stalest_ms/",)
"""Series whose value per second is the worst of the processes' (the others add up)."""


@dataclass(slots=True)
class CrewRecords:
    """Everything one client process (or, merged, all of them) saw and spent."""

    sightings: dict[str, RegionSightings] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)
    unanswered: int = 0
    ack: dict[str, Histogram] = field(default_factory=dict)
    """Bid acknowledgement latency per bidder region."""
    series: Series = field(default_factory=Series)
    lag: Histogram = field(default_factory=Histogram)
    """How late each process's event loop ran a 50 ms timer (every process's samples)."""
    cpu_s: dict[str, float] = field(default_factory=dict)
    """CPU seconds per phase (``surge``, ``bidding``), summed over processes."""
    connected_at_open: int = 0
    refusals: int = 0
    processes: list[dict[str, Any]] = field(default_factory=list)
    """Per process: what it ran and what it cost (observers, bidders, CPU, loop lag)."""


def merge_series(parts: Iterable[Series]) -> Series:
    out = Series()
    for part in parts:
        for name, points in part.values.items():
            worst = name.startswith(WORST_OF)
            bucket = out.values.setdefault(name, {})
            for second, value in points.items():
                if worst:
                    bucket[second] = max(bucket.get(second, value), value)
                else:
                    bucket[second] = bucket.get(second, 0) + value
    return out


def merge_histograms(parts: Iterable[Histogram]) -> Histogram:
    out = Histogram()
    for part in parts:
        out.merge(part)
    return out


def merge_sightings(parts: Iterable[Mapping[str, RegionSightings]]) -> dict[str, RegionSightings]:
    """One :class:`RegionSightings` per region from every process's (their views are shared,
    not copied; parsed-message caches are left behind)."""
    out: dict[str, RegionSightings] = {}
    for process, part in enumerate(parts):
        for region, s in part.items():
            into = out.setdefault(region, RegionSightings(region))
            into.views += s.views
            into.latency.merge(s.latency)
            into.resync_age.merge(s.resync_age)
            into.stalest_ms = max(into.stalest_ms, s.stalest_ms)
            into.connected += s.connected
            into.conflicts += s.conflicts
            for seq, price in s.prices.items():
                first = into.prices.setdefault(seq, price)
                if first != price:
                    into.conflicts.append(
                        {"seq": seq, "first_seen": first, "seen": price, "client_process": process}
                    )
    return out


def merge(parts: Iterable[CrewRecords]) -> CrewRecords:
    """All processes' records as if one process had recorded them."""
    crews = list(parts)
    cpu: dict[str, float] = {}
    ack: dict[str, list[Histogram]] = {}
    for c in crews:
        for phase, seconds in c.cpu_s.items():
            cpu[phase] = cpu.get(phase, 0.0) + seconds
        for region, h in c.ack.items():
            ack.setdefault(region, []).append(h)
    return CrewRecords(
        sightings=merge_sightings(c.sightings for c in crews),
        answers=[a for c in crews for a in c.answers],
        unanswered=sum(c.unanswered for c in crews),
        ack={r: merge_histograms(hs) for r, hs in sorted(ack.items())},
        series=merge_series(c.series for c in crews),
        lag=merge_histograms(c.lag for c in crews),
        cpu_s=cpu,
        connected_at_open=sum(c.connected_at_open for c in crews),
        refusals=sum(c.refusals for c in crews),
        processes=[p for c in crews for p in c.processes],
    )
