"""Who watches which drop, and broadcast to them: one encoded frame, written to every socket.

Called by :mod:`gavel.fanout.ingest` (``publish``, one call per price event) and by
:mod:`gavel.fanout.connection` (``subscribe``/``unsubscribe``). All on one event loop, no locks.

Fresh before complete: an observer wants the current price, not a queue of old ones.

* A socket whose send buffer passed its high-water mark is *paused* (asyncio flow control).
  While paused it gets nothing; it is marked *conflated*, and when it drains it receives one
  snapshot of the latest state marked ``resync`` instead of the backlog. A socket paused for
  too long is disconnected by :meth:`Hub.sweep`.
* A process that is behind (busy broadcasting while Kafka kept delivering) takes a whole batch
  of events at once (:meth:`Hub.publish_batch`): every event goes into its drop's feed (the
  history still answers ``since``), but an event that a newer one of its drop in the same batch
  superseded more than ``max_stale_ms`` later (by their ``decided_ms``, both stamped by the
  drop's home gateway) is not broadcast. The next broadcast after a skip is a resync snapshot,
  so clients never see a gap in ``price`` seqs, and the work skipped is what lets the process
  catch up: staleness stays bounded instead of growing with the backlog. A batch that spans
  less (a burst of bids, a pipeline that is slow but steady) goes out whole.

State stays bounded by what is real: a feed exists only for a drop whose prices came from Kafka,
so subscribing to a name the fan-out has never seen creates nothing but the watcher entry, which
goes with the last socket (the snapshot it gets says "no bids yet", and the first price reaches
it like any other). Random drop names therefore cost memory only while their sockets are open.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol

from gavel.events import PriceEvent
from gavel.fanout import messages, metrics
from gavel.fanout.feed import Applied, Feed
from gavel.fanout.observers import Tally


class Watcher(Protocol):
    """What the hub needs of a socket (implemented by ObserverConnection)."""

    paused_since: float | None
    conflated: bool

    def write(self, frame: bytes) -> None: ...

    def abort(self, reason: str) -> None: ...


class Hub:
    def __init__(self, history_size: int) -> None:
        self.history_size = history_size
        self.feeds: dict[str, Feed] = {}
        self.watchers: dict[str, set[Watcher]] = defaultdict(set)
        self.count = 0
        self.tally = Tally()
        """Sockets per drop, for the per-region observer counts (:mod:`.observers`)."""

    def feed(self, drop: str) -> Feed:
        """The feed of ``drop``, created by its first price event."""
        feed = self.feeds.get(drop)
        if feed is None:
            feed = self.feeds[drop] = Feed(drop, self.history_size)
            metrics.DROPS.set(len(self.feeds))
        return feed

    def _snapshot(self, drop: str, *, resync: bool) -> bytes:
        feed = self.feeds.get(drop)
        if feed is None:
            return messages.snapshot(drop, None, resync=resync)
        return feed.snapshot(resync=resync)

    def subscribe(self, watcher: Watcher, drop: str, since: int | None) -> None:
        """Start ``watcher`` on ``drop``: what it missed since ``since``, else a snapshot."""
        self.watchers[drop].add(watcher)
        self.count += 1
        self.tally.opened(drop)
        metrics.CONNECTIONS.set(self.count)
        metrics.WATCHED_DROPS.set(len(self.watchers))
        feed = self.feeds.get(drop)
        missed = feed.missed_since(since) if feed is not None and since is not None else None
        if missed is None:
            watcher.write(messages.text_frame(self._snapshot(drop, resync=since is not None)))
        else:
            for message in missed:
                watcher.write(messages.text_frame(message))

    def unsubscribe(self, watcher: Watcher, drop: str) -> None:
        watchers = self.watchers.get(drop)
        if watchers is not None and watcher in watchers:
            watchers.discard(watcher)
            self.count -= 1
            self.tally.closed(drop)
            metrics.CONNECTIONS.set(self.count)
            if not watchers:
                del self.watchers[drop]
                metrics.WATCHED_DROPS.set(len(self.watchers))

    def publish(self, event: PriceEvent) -> int:
        """Apply ``event`` and broadcast what it means; returns sockets written to."""
        return self.publish_batch([event], max_stale_ms=float("inf"))

    def publish_batch(self, events: Sequence[PriceEvent], *, max_stale_ms: float) -> int:
        """Apply ``events`` (one batch from Kafka, in order) and broadcast, per drop, each new
        one unless the drop's newest in the batch was decided more than ``max_stale_ms`` after
        it; returns socket writes."""
        before: dict[str, int] = {}
        todo: dict[str, list[tuple[PriceEvent, bytes]]] = {}
        for event in events:
            feed = self.feed(event.drop)
            before.setdefault(event.drop, feed.seq)
            applied, message = feed.apply(event)
            metrics.EVENTS.labels(applied.value).inc()
            if applied is not Applied.IGNORED:
                todo.setdefault(event.drop, []).append((event, message))
        sent = 0
        for new in todo.values():
            last = before[new[0][0].drop]
            newest_ms = max(e.decision.decided_ms for e, _ in new)
            for event, message in new[:-1]:
                if newest_ms - event.decision.decided_ms > max_stale_ms:
                    metrics.SKIPPED.inc()
                    continue
                sent += self._broadcast(event, message, last)
                last = event.decision.seq
            sent += self._broadcast(*new[-1], last)
        return sent

    def _broadcast(self, event: PriceEvent, message: bytes, last_sent: int) -> int:
        """Write ``event`` to every watcher of its drop: its ``message`` if the watchers' last
        broadcast was the seq before, else a resync snapshot of it (prices were skipped)."""
        metrics.LAG_MS.set(time.time() * 1000 - event.decision.decided_ms)
        if not self.watchers.get(event.drop):
            return 0
        if event.decision.seq != last_sent + 1:
            message = messages.snapshot(event.drop, event, resync=True)
        frame = messages.text_frame(message)
        sent = conflated = 0
        for watcher in list(self.watchers.get(event.drop, ())):
            if watcher.paused_since is None:
                watcher.write(frame)
                sent += 1
            else:
                watcher.conflated = True
                conflated += 1
        metrics.DELIVERIES.inc(sent)
        if conflated:
            metrics.CONFLATED.inc(conflated)
        return sent

    def resync(self, watcher: Watcher, drop: str) -> None:
        """A conflated socket drained: send it the latest state, marked as a resync."""
        watcher.conflated = False
        watcher.write(messages.text_frame(self._snapshot(drop, resync=True)))

    def sweep(self, now: float, slow_timeout_s: float) -> int:
        """Disconnect sockets paused for longer than ``slow_timeout_s``; returns how many."""
        slow = [
            w
            for ws in self.watchers.values()
            for w in ws
            if w.paused_since is not None and now - w.paused_since > slow_timeout_s
        ]
        for watcher in slow:
            watcher.abort("slow consumer")
        metrics.SLOW_DISCONNECTS.inc(len(slow))
        return len(slow)
