"""How many observers of each drop this process holds, and what to report of them. Pure.

:class:`~gavel.fanout.hub.Hub` calls :meth:`Tally.opened` and :meth:`Tally.closed` as sockets
subscribe and go; every report interval :mod:`gavel.fanout.server` takes :meth:`Tally.due` and
hands it to :mod:`gavel.fanout.presence`, which records it in this region's Redis (the region's
count is the sum over its fan-out processes; the script there keeps the peak).

A report carries the drop's current count and the most it had since the previous report, so a
crowd that came and went between two reports still reaches the peak. A drop is reported while
it has sockets, and once more after its last one left (with zero, so the region's sum drops at
once instead of when the entry expires); then it is forgotten. State is bounded by the drops
with open sockets.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Report:
    drop: str
    current: int
    interval_peak: int
    """The most sockets of the drop at once since the previous report (>= current)."""


class Tally:
    def __init__(self) -> None:
        self.current: dict[str, int] = {}
        self._peak: dict[str, int] = {}

    def opened(self, drop: str) -> None:
        n = self.current.get(drop, 0) + 1
        self.current[drop] = n
        self._peak[drop] = max(self._peak.get(drop, 0), n)

    def closed(self, drop: str) -> None:
        n = self.current.get(drop, 0) - 1
        if n < 0:
            raise ValueError(f"closed a socket of {drop!r} that was never opened")
        self.current[drop] = n

    def due(self) -> list[Report]:
        """What to report now, per drop (sorted by name); starts the next interval. A drop that
        has no sockets left is in it one last time, with zero, and then forgotten."""
        reports = []
        for drop in sorted(self._peak):
            n = self.current[drop]
            reports.append(Report(drop, n, self._peak[drop]))
            if n:
                self._peak[drop] = n
            else:
                del self._peak[drop], self.current[drop]
        return reports
