"""One drop's live feed: latest state and a bounded history by sequence number. Pure.

Called by :mod:`gavel.fanout.hub` for every price event from Kafka. Kafka may deliver a record
twice (the relay is at-least-once) and, after a restart, an old one: :meth:`Feed.apply` accepts
an event only if its ``seq`` is above the latest, so the price never moves backwards and nothing
is delivered twice. A jump in ``seq`` (a gap) is delivered as a resync snapshot, never as a price,
so clients can trust that consecutive ``price`` messages have consecutive numbers.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from gavel.events import PriceEvent
from gavel.fanout import messages

RECENT = 10
"""Accepted bids a feed keeps as events, for the drop page's "last bids"."""


class Applied(Enum):
    IGNORED = "ignored"
    """Duplicate or older than the latest: nothing to deliver."""
    NEXT = "next"
    """The next number: deliver as a price."""
    GAP = "gap"
    """Numbers are missing before it: deliver a resync snapshot."""


@dataclass(slots=True)
class Feed:
    drop: str
    history_size: int = 512
    latest: PriceEvent | None = None
    _history: deque[tuple[int, bytes]] = field(default_factory=deque)
    _recent: deque[PriceEvent] = field(default_factory=lambda: deque(maxlen=RECENT))

    @property
    def seq(self) -> int:
        return self.latest.decision.seq if self.latest else 0

    def apply(self, event: PriceEvent) -> tuple[Applied, bytes]:
        """Take ``event`` into the feed; returns what happened and the message to broadcast."""
        seq = event.decision.seq
        if seq <= self.seq:
            return Applied.IGNORED, b""
        gap = seq != self.seq + 1
        self.latest = event
        self._recent.append(event)
        message = messages.price(event)
        if gap:
            self._history.clear()  # the history must stay gap-free to answer `since`
        self._history.append((seq, message))
        while len(self._history) > self.history_size:
            self._history.popleft()
        if gap:
            return Applied.GAP, messages.snapshot(self.drop, event, resync=True)
        return Applied.NEXT, message

    def missed_since(self, since: int) -> list[bytes] | None:
        """Messages after ``since``, or None when the history no longer reaches back that far."""
        if since >= self.seq:
            return [] if since == self.seq else None
        if not self._history or self._history[0][0] > since + 1:
            return None
        return [message for seq, message in self._history if seq > since]

    @property
    def recent(self) -> list[PriceEvent]:
        """The last :data:`RECENT` accepted bids, newest last."""
        return list(self._recent)

    def snapshot(self, *, resync: bool) -> bytes:
        return messages.snapshot(self.drop, self.latest, resync=resync)
