"""How many replicas a batch of bids waits for before it is acknowledged. Pure.

Used by :class:`gavel.gateway.replicated.ReplicatedBids`, which feeds it the number of replicas
connected to the primary (``INFO replication``) and asks it for the ``WAIT`` target.

The target is every replica connected now, and at least ``floor`` (decision 35: Sentinel may
promote any of them, so all must hold an acknowledged decision). But a *drop* in that count is
not trusted at once. When Sentinel promotes a replica, the promoted one leaves the old primary
immediately, while the others keep following the old primary until Sentinel reconfigures them
(about a second here; longer with more replicas). An old primary reachable again in that window
(a partition that healed during the failover) still has a connected, in-sync replica, so it
accepts writes (``min-replicas-to-write 1``), and a ``WAIT`` for "every replica connected now"
succeeds for decisions the new primary never sees: acknowledged bids lost. Seen from the old
primary, a replica that was promoted and one that died look the same. So the target follows the
count down only once the lower count has lasted ``hold_s``: by then Sentinel has moved the
remaining replicas to the new primary (the old one, left with none, refuses writes) or the
replica really is gone. The price: a replica that dies costs up to ``hold_s`` of retryable 503s.
A replica that connects is waited for at once.

The history is kept per primary (:class:`ReplicaTargets`, keyed by the node's replication id):
the new primary a failover made has a replica set of its own, and holding it to the count the
old primary had would keep bids refused for ``hold_s`` after every failover.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from gavel.redis_replication import SentinelTimings

HOLD_S = SentinelTimings().failover_timeout_ms / 1000
"""Sentinel's failover timeout: the longest it takes to reconfigure the remaining replicas
before it gives up on a failover, so a count that stays lower than that is not a failover."""


@dataclass(slots=True)
class ReplicaTarget:
    """The ``WAIT`` target from the replica counts seen over the last ``hold_s`` seconds."""

    floor: int
    hold_s: float = HOLD_S
    _seen: deque[tuple[float, int]] = field(default_factory=deque)

    def observe(self, connected: int, now: float) -> None:
        """Record that ``connected`` replicas were connected to the primary at ``now``."""
        # A sliding-window maximum: counts fall from the oldest to the newest, since a count no
        # higher than a newer one can never be the maximum while that newer one is held.
        while self._seen and self._seen[-1][1] <= connected:
            self._seen.pop()
        self._seen.append((now, connected))

    @property
    def latest(self) -> int:
        """The newest count observed (0 before any)."""
        return self._seen[-1][1] if self._seen else 0

    def needed(self, now: float) -> int:
        """The replicas a ``WAIT`` at ``now`` must reach: the highest count seen within
        ``hold_s`` (the newest always counts), and at least ``floor``."""
        while len(self._seen) > 1 and now - self._seen[0][0] > self.hold_s:
            self._seen.popleft()
        return max(self.floor, self._seen[0][1]) if self._seen else self.floor


@dataclass(slots=True)
class ReplicaTargets:
    """One :class:`ReplicaTarget` per primary, keyed by its replication id (``master_replid``,
    which a promotion changes). Nodes not seen for ``hold_s`` are forgotten."""

    floor: int
    hold_s: float = HOLD_S
    _nodes: dict[str, tuple[float, ReplicaTarget]] = field(default_factory=dict)
    last_node: str = ""
    """The node of the latest observation: the best guess for where the next batch goes."""

    def observe(self, node: str, connected: int, now: float) -> None:
        for stale in [n for n, (seen, _) in self._nodes.items() if now - seen > self.hold_s]:
            del self._nodes[stale]
        _, target = self._nodes.get(node, (now, ReplicaTarget(self.floor, self.hold_s)))
        target.observe(connected, now)
        self._nodes[node] = (now, target)
        self.last_node = node

    def needed(self, node: str, now: float) -> int:
        """What a ``WAIT`` on ``node`` must reach at ``now`` (the floor for a node never seen)."""
        entry = self._nodes.get(node)
        return entry[1].needed(now) if entry else self.floor

    def latest(self, node: str) -> int:
        """The count last seen on ``node`` (0 for a node never seen)."""
        entry = self._nodes.get(node)
        return entry[1].latest if entry else 0

    def ceiling(self, now: float) -> int:
        """The most any node seen within the hold needs: for a connection whose node is not
        known yet (it may be the old primary a failover is leaving)."""
        recent = [t.needed(now) for seen, t in self._nodes.values() if now - seen <= self.hold_s]
        return max([self.floor, *recent])
