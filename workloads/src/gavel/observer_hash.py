"""A drop's Redis ``observers`` hash in one region: its field names and its one reader. Pure.

Each fan-out process writes its own entry through ``lua/observers.lua`` (called by
:mod:`gavel.fanout.presence`), which also raises the region's peak; the merch console
(:mod:`gavel.console`) reads the hash back through :func:`figures` for ``gavel drops watch``
(observers now) and ``gavel drops results`` (observers at peak). A unit test holds the script
to the names here.

Fields:

* ``p:<process>`` -> ``"<current> <expires_ms>"``: one fan-out process's observers of the drop,
  valid until ``expires_ms`` (Redis clock); a process that stops reporting drops out of the
  sum once it expires; a report of zero (its last socket went, or it shuts down) removes it;
* ``peak`` -> the most observers the region had at once (see :func:`figures` for the bound);
* ``peak_ms`` -> when (Redis clock) that peak was recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PROCESS_PREFIX = "p:"
PEAK = "peak"
PEAK_MS = "peak_ms"


@dataclass(frozen=True, slots=True)
class RegionObservers:
    """One region's observers of one drop."""

    current: int
    """Sum of the live processes' last reports (each at most one report interval old)."""
    peak: int
    """The most at once: each report's own most since its previous report plus the other
    processes' last reports, maximised over reports. Exact with one fan-out process per region;
    with several, off by at most the sockets that opened or closed within one interval."""
    peak_ms: int | None = None
    processes: int = 0
    """Fan-out processes holding observers of the drop (entries not expired)."""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def process_entry(value: str) -> tuple[int, int] | None:
    """``(current, expires_ms)`` of a ``p:<process>`` value; None if malformed."""
    count, _, expires = value.partition(" ")
    if not (count.isdigit() and expires.isdigit()):
        return None
    return int(count), int(expires)


def figures(raw: Mapping[bytes | str, bytes | str], now_ms: int) -> RegionObservers:
    """The region's figures from its hash (as ``HGETALL`` returns it) at ``now_ms`` (that Redis'
    clock); an empty hash (nobody ever watched, or the drop was removed) gives zeros."""
    fields = {_text(k): _text(v) for k, v in raw.items()}
    current = processes = 0
    for name, value in fields.items():
        if not name.startswith(PROCESS_PREFIX):
            continue
        entry = process_entry(value)
        if entry is not None and entry[1] >= now_ms:
            current += entry[0]
            processes += 1
    peak_ms = fields.get(PEAK_MS)
    return RegionObservers(
        current=current,
        peak=int(fields.get(PEAK) or 0),
        peak_ms=int(peak_ms) if peak_ms and peak_ms.isdigit() else None,
        processes=processes,
    )
