"""The gateway's disk outbox: bid events decided at the edge, waiting for the relay.

When an attempt cannot reach Redis (the home region's Redis is down) or is refused before it
(an unknown drop), the gateway still owes the audit trail an event. It appends the event's JSON
to a segment file here and fsyncs before answering; the relay (same pod, shared volume) ships
closed segments to Kafka and deletes each only after Kafka acknowledged every line in it.

Layout of the folder:

* ``<writer>-<n>.open`` — the segment a live writer appends to (one per gateway process);
* ``<writer>-<n>.jsonl`` — closed segments, ready for the relay.

A writer closes its segment (rename, atomic) when it grows past ``max_segment_bytes``, on a
timer, and on shutdown. It holds an exclusive ``flock`` on its open segment until the rename;
the kernel drops the lock when the process dies, however it dies. A segment left ``.open`` is
closed by the relay (:func:`reclaim`) once it is idle and nobody holds its lock. A lock, not
the writer's pid: in a pod the gateway and its shipper are containers with pid namespaces of
their own, where the gateway's pid (1) names the shipper itself. A torn last line (a crash
mid-write) is skipped when read: its request was never answered, so nothing was promised for it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gavel.events import BidEvent, EventError

OPEN_SUFFIX = ".open"
CLOSED_SUFFIX = ".jsonl"


class OutboxWriter:
    """Appends events durably; one per process. Not thread-safe (call from one event loop)."""

    def __init__(self, folder: Path, writer_id: str, max_segment_bytes: int = 1 << 20) -> None:
        self.folder = folder
        self.writer_id = writer_id
        self.max_segment_bytes = max_segment_bytes
        self._n = 0
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0
        folder.mkdir(parents=True, exist_ok=True)

    def append(self, event: BidEvent) -> None:
        """Write one event and fsync it; returns only when it is on disk."""
        fd = self._fd if self._fd is not None else self._open()
        line = event.to_json() + b"\n"
        os.write(fd, line)
        os.fsync(fd)
        self._size += len(line)
        if self._size >= self.max_segment_bytes:
            self.close_segment()

    def close_segment(self) -> Path | None:
        """Hand the current segment to the relay; returns its closed path, if there was one."""
        if self._fd is None or self._path is None:
            return None
        closed = self._path.with_suffix(CLOSED_SUFFIX)
        # Renamed before the lock goes (with the descriptor), so reclaim never finds this
        # segment open and unlocked while its writer lives.
        os.replace(self._path, closed)
        os.close(self._fd)
        self._fd, self._path, self._size = None, None, 0
        return closed

    def _open(self) -> int:
        self._n += 1
        name = f"{self.writer_id}-{os.getpid()}-{int(time.time() * 1000)}-{self._n}"
        self._path = self.folder / f"{name}{OPEN_SUFFIX}"
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else has it
        return self._fd


@dataclass(frozen=True, slots=True)
class Segment:
    """A closed segment and the events it holds, in order."""

    path: Path
    events: list[BidEvent]
    skipped: int
    """Lines that did not parse (a torn last line after a crash)."""


def closed_segments(folder: Path) -> list[Path]:
    """Closed segments, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"*{CLOSED_SUFFIX}"), key=lambda p: p.stat().st_mtime_ns)


def read_segment(path: Path) -> Segment:
    events, skipped = [], 0
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        try:
            events.append(BidEvent.from_json(line))
        except EventError:
            skipped += 1
    return Segment(path, events, skipped)


def reclaim(folder: Path, idle_s: float = 5.0) -> list[Path]:
    """Close ``.open`` segments whose writer is gone (not written for ``idle_s`` and nobody
    holds its lock); returns the segments closed."""
    closed: list[Path] = []
    if not folder.is_dir():
        return closed
    for path in folder.glob(f"*{OPEN_SUFFIX}"):
        try:
            if time.time() - path.stat().st_mtime <= idle_s:
                continue
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # closed by its writer since the listing
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its writer lives (and is only quiet)
            target = path.with_suffix(CLOSED_SUFFIX)
            os.replace(path, target)
            closed.append(target)
        finally:
            os.close(fd)
    return closed


def iter_pending(folder: Path) -> Iterator[Segment]:
    """Every closed segment with its events, oldest first."""
    for path in closed_segments(folder):
        yield read_segment(path)
