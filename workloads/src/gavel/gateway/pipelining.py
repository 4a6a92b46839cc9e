"""Automatic pipelining, without I/O: which commands go out together and whose reply is whose.

The gateway keeps one Redis connection per home region (:mod:`gavel.gateway.redis_pipe` does its
I/O). Every command asked for during one event-loop turn is queued here; at the end of the turn
the I/O part takes them all as one *batch*: one buffer, one socket write. Redis answers in the
order it was sent, so replies are matched to callers by position: the oldest batch in flight
gets the next reply. Batches need not wait for each other: many can be in flight on the
connection at once.

A batch whose commands must be replicated before anyone hears of them ends with one trailer
command (``WAIT n ms``). Its callers are answered together when the trailer's reply arrives, so
one ``WAIT`` confirms every decision of the batch (``WAIT`` covers all writes the connection
made before it).

Pure: the caller supplies opaque *waiters* (futures, in the I/O part) and gets them back with
their replies; nothing here reads a clock or a socket. Tested by
``tests/unit/gateway/test_pipelining.py``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

W = TypeVar("W")

Arg = str | int | bytes


def encode(args: Sequence[Arg]) -> bytes:
    """One command in RESP (an array of bulk strings), as Redis reads it."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            raw = arg.encode()
        elif isinstance(arg, int):
            raw = b"%d" % arg
        else:
            raw = arg
        parts.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(parts)


@dataclass(slots=True)
class Batch(Generic[W]):
    """Commands written together; answered together once the last reply is in."""

    waiters: list[W]
    trailer: bool
    """Ends with a replication trailer (``WAIT``) whose reply is :attr:`trailer_reply`."""
    replies: list[object] = field(default_factory=list)
    trailer_reply: object = None
    trailer_done: bool = False

    @property
    def complete(self) -> bool:
        return len(self.replies) == len(self.waiters) and (self.trailer_done or not self.trailer)


class Pipeline(Generic[W]):
    """The queue of one connection: commands not yet written, and batches awaiting replies."""

    def __init__(self, max_batch: int = 512) -> None:
        self._max_batch = max_batch
        self._queued: list[tuple[bytes, W, bool]] = []
        self._in_flight: deque[Batch[W]] = deque()

    def submit(self, command: bytes, waiter: W, *, replicate: bool = False) -> bool:
        """Queue an encoded command; True if it is the first of a new turn (schedule a flush).

        ``replicate``: its callers must not hear of it before the batch's trailer confirmed it.
        """
        self._queued.append((command, waiter, replicate))
        return len(self._queued) == 1

    def submit_first(self, command: bytes, waiter: W) -> None:
        """Queue a command ahead of all others (a new connection's handshake)."""
        self._queued.insert(0, (command, waiter, False))

    @property
    def queued(self) -> int:
        return len(self._queued)

    @property
    def in_flight(self) -> int:
        """Batches written and not yet completely answered."""
        return len(self._in_flight)

    @property
    def trailers_in_flight(self) -> int:
        """Written batches that end with a trailer and are not answered yet."""
        return sum(1 for b in self._in_flight if b.trailer)

    def take(self, trailer: bytes | None = None) -> bytes:
        """The next write: up to ``max_batch`` queued commands, in order, as one buffer.

        ``trailer`` (the encoded ``WAIT``) is appended when a command of the batch asked to be
        replicated. Returns b"" when nothing is queued. Call again while :attr:`queued` > 0.
        """
        if not self._queued:
            return b""
        now, self._queued = self._queued[: self._max_batch], self._queued[self._max_batch :]
        needs_trailer = trailer is not None and any(r for _, _, r in now)
        self._in_flight.append(Batch([w for _, w, _ in now], needs_trailer))
        chunks = [c for c, _, _ in now]
        if needs_trailer and trailer is not None:
            chunks.append(trailer)
        return b"".join(chunks)

    def answer(self, reply: object) -> Batch[W] | None:
        """Record the next reply; returns the oldest batch once all its replies are in.

        Raises :class:`ProtocolDesyncError` for a reply nobody waits for: the connection's
        stream is not what was sent, and must be dropped.
        """
        if not self._in_flight:
            raise ProtocolDesyncError("a reply arrived with no command in flight")
        batch = self._in_flight[0]
        if len(batch.replies) < len(batch.waiters):
            batch.replies.append(reply)
        else:
            batch.trailer_reply, batch.trailer_done = reply, True
        return self._in_flight.popleft() if batch.complete else None

    def fail_all(self) -> list[W]:
        """Every waiter, written or not, oldest first; the pipeline is empty afterwards.

        Called when the connection is lost: nobody can know which of the written commands ran.
        """
        waiters = [w for b in self._in_flight for w in b.waiters[len(b.replies) :]]
        # Those already answered inside an unfinished batch wait for its trailer: fail them too.
        answered = [w for b in self._in_flight for w in b.waiters[: len(b.replies)]]
        queued = [w for _, w, _ in self._queued]
        self._in_flight.clear()
        self._queued = []
        return answered + waiters + queued


class ProtocolDesyncError(Exception):
    """More replies than commands: the byte stream cannot be trusted any more."""
