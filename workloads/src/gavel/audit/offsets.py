"""Which Kafka offsets the audit writer may commit. Pure, no I/O.

:class:`gavel.audit.loops.AuditWriter` calls :meth:`OffsetTracker.start` for every record it
takes from a partition (in offset order), :meth:`OffsetTracker.finish` once Cassandra
acknowledged its row (or the dead-letter topic its dead letter), and commits what
:meth:`OffsetTracker.to_commit` returns. Records finish out of order (writes run
concurrently); a partition's commit position only moves past an offset once that offset *and
every one before it* finished, so a crash replays what was not yet durable and never skips it.

On a rebalance the writer :meth:`forgets <OffsetTracker.forget>` a revoked partition: its
records still in flight finish harmlessly (writes are idempotent) but their tickets no longer
count, and the partition starts afresh from the group's committed offset if it comes back.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

P = TypeVar("P")
"""A partition: aiokafka's ``TopicPartition`` in the writer, anything hashable in tests."""


@dataclass(frozen=True, slots=True)
class Ticket(Generic[P]):
    """One started record: hand it back to :meth:`OffsetTracker.finish`."""

    partition: P
    epoch: int
    offset: int


@dataclass(slots=True)
class _Partition:
    epoch: int
    started: deque[int] = field(default_factory=deque)
    """Offsets started and not yet released, ascending."""
    finished: set[int] = field(default_factory=set)
    """Offsets of ``started`` that finished (out of order)."""
    position: int | None = None
    """Everything below this finished: the offset to commit (the next one to read)."""
    committed: int | None = None
    """The last position committed."""


class OffsetTracker(Generic[P]):
    def __init__(self) -> None:
        self._partitions: dict[P, _Partition] = {}
        self._epochs: dict[P, int] = {}
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Records started and not finished, over all partitions."""
        return self._in_flight

    def in_flight_of(self, partition: P) -> int:
        p = self._partitions.get(partition)
        return 0 if p is None else len(p.started) - len(p.finished)

    def start(self, partition: P, offset: int) -> Ticket[P]:
        """Track ``offset``, the next record taken from ``partition``.

        Offsets must rise within a partition. One at or below an offset already started means
        the consumer went back (to the committed offset): the partition starts afresh and
        tickets issued before become stale.
        """
        p = self._partitions.get(partition)
        if p is not None and (
            (p.started and offset <= p.started[-1])
            or (p.position is not None and offset < p.position)
        ):
            self.forget(partition)
            p = None
        if p is None:
            epoch = self._epochs.get(partition, 0) + 1
            self._epochs[partition] = epoch
            p = self._partitions[partition] = _Partition(epoch)
        p.started.append(offset)
        self._in_flight += 1
        return Ticket(partition, p.epoch, offset)

    def finish(self, ticket: Ticket[P]) -> bool:
        """Mark ``ticket``'s record durable; False if the ticket is stale (ignored)."""
        p = self._partitions.get(ticket.partition)
        if p is None or p.epoch != ticket.epoch or ticket.offset in p.finished:
            return False
        if p.position is not None and ticket.offset < p.position:
            return False  # finished and released before
        p.finished.add(ticket.offset)
        self._in_flight -= 1
        while p.started and p.started[0] in p.finished:
            offset = p.started.popleft()
            p.finished.discard(offset)
            p.position = offset + 1
        return True

    def position(self, partition: P) -> int | None:
        """The commit position of ``partition``: every offset below it finished."""
        p = self._partitions.get(partition)
        return None if p is None else p.position

    def to_commit(self) -> dict[P, int]:
        """Positions that moved since they were last committed."""
        return {
            tp: p.position
            for tp, p in self._partitions.items()
            if p.position is not None and p.position != p.committed
        }

    def committed(self, partition: P, position: int) -> None:
        """Record that ``position`` was committed for ``partition``."""
        p = self._partitions.get(partition)
        if p is not None:
            p.committed = position

    def last_committed(self, partition: P) -> int | None:
        p = self._partitions.get(partition)
        return None if p is None else p.committed

    def forget(self, partition: P) -> None:
        """Stop tracking ``partition`` (revoked, or the consumer went back)."""
        p = self._partitions.pop(partition, None)
        if p is not None:
            self._in_flight -= len(p.started) - len(p.finished)

    def partitions(self) -> list[P]:
        return list(self._partitions)


class Settling(Generic[P]):
    """Commit positions that have been durable for a while: what :class:`OffsetTracker` says
    is written, held back for a *durability window*.

    Cassandra acknowledges a write once it is in its commit log buffer; with the default
    ``commitlog_sync: periodic`` it reaches the disk up to ``commitlog_sync_period`` (10 s)
    later, and a node that dies before that loses it (measured: a SIGKILLed one-node
    Cassandra came back without ~8 % of 5 000 acknowledged rows). With RF 3 and LOCAL_QUORUM
    the other replicas keep it; with one replica, or all replicas dying at once, only Kafka
    still has the record. So the writer commits a position only once it has been written for
    ``window_s``, and when Cassandra shows trouble (a node down, a failed write) it rewinds to
    the committed offsets and writes the unsettled stretch again (the keys make that
    harmless). The writer calls :meth:`observe` on every commit tick and commits
    :meth:`settled`.
    """

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._seen: dict[P, deque[tuple[float, int]]] = {}

    def observe(self, partition: P, position: int, now: float) -> None:
        """``position`` of ``partition`` is written (acknowledged) as of ``now``."""
        seen = self._seen.setdefault(partition, deque())
        if not seen or seen[-1][1] != position:
            seen.append((now, position))

    def settled(self, partition: P, now: float) -> int | None:
        """The newest position observed at least ``window_s`` ago (None: none yet)."""
        seen = self._seen.get(partition)
        result = None
        while seen and seen[0][0] <= now - self.window_s:
            result = seen.popleft()[1]
        if result is not None and seen is not None:
            seen.appendleft((now - self.window_s, result))  # keep it as the floor
        return result

    def clear(self, partition: P) -> None:
        """Forget what was observed of ``partition`` (rewound or revoked)."""
        self._seen.pop(partition, None)
