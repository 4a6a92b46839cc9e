"""Per-second time series of one herd: what the report plots along the drop. Pure.

Filled while the herd runs, cheaply: bidders count each answer into the second it came back
(:class:`gavel.herd.bidders.Tally`), and once a second :mod:`gavel.herd.run` samples the
observers' counters (connected sockets, deliveries, skipped prices, the stalest price shown)
instead of keeping anything per message. Seconds are whole seconds on the herd's clock, from
its start. Read by :mod:`gavel.herd.report` through the run's JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(slots=True)
class Series:
    """Named series of ``second -> value``. Names are ``group/label`` (``answers/accepted``,
    ``observers/eu``), so a plot takes one group and draws a trace per label."""

    values: dict[str, dict[int, float]] = field(default_factory=dict)

    def add(self, name: str, second: int, n: float = 1) -> None:
        bucket = self.values.setdefault(name, {})
        bucket[second] = bucket.get(second, 0) + n

    def put(self, name: str, second: int, value: float) -> None:
        self.values.setdefault(name, {})[second] = value

    def group(self, group: str) -> dict[str, dict[int, float]]:
        """``label -> series`` of every name in ``group``."""
        prefix = f"{group}/"
        return {
            name.removeprefix(prefix): points
            for name, points in sorted(self.values.items())
            if name.startswith(prefix)
        }

    def as_json(self) -> dict[str, list[list[float]]]:
        return {
            name: [[s, v] for s, v in sorted(points.items())]
            for name, points in sorted(self.values.items())
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, list[list[float]]]) -> Series:
        """Read back :meth:`as_json`; ValueError for anything of another shape."""
        out = cls()
        for name, points in doc.items():
            for pair in points:
                if len(pair) != 2:
                    raise ValueError(f"series {name!r}: {pair!r} is not [second, value]")
                out.put(name, int(pair[0]), float(pair[1]))
        return out


class MarkKind(StrEnum):
    PHASE = "phase"
    """The drop's own moments: the open, the soft-close window, the planned end, the close."""
    FAULT = "fault"
    """Chaos: a workload killed or frozen."""
    RECOVERY = "recovery"
    """A frozen workload let run again, a killed one restarted."""


@dataclass(frozen=True, slots=True)
class Mark:
    """A moment drawn on every time axis of the report."""

    t_s: float
    label: str
    kind: MarkKind

    def as_json(self) -> dict[str, object]:
        return {"t_s": round(self.t_s, 3), "label": self.label, "kind": self.kind.value}
