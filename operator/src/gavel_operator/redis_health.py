"""A region's Redis as its Sentinels and its primary describe it, and what that means. Pure.

:mod:`gavel_operator.auctions` asks the region's Sentinels which node is the primary and that
primary how its replicas stand (``INFO replication``), and builds a :class:`Replication`;
:mod:`gavel_operator.region_sync` turns it into the Region's ``status.redis`` and its
``RedisReplicated`` condition with :func:`assess`.

A replica counts as *in sync* when its link is up (``online``) and it acknowledged within
``min-replicas-max-lag`` (:mod:`gavel.redis_replication`): exactly the replicas the primary
itself counts before it accepts a write, and the ones a gateway's ``WAIT`` can hear from. Fewer
in sync than the Region asks for (``spec.redis.replicas``) means a failover now could lose
acknowledged bids or leave the promoted primary unable to take writes, so the condition is
false.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gavel.redis_replication import MIN_REPLICAS_MAX_LAG_S
from gavel_operator.conditions import Observed

CONDITION = "RedisReplicated"
_REPLICA_KEY = re.compile(r"^slave[0-9]+$")


@dataclass(frozen=True, slots=True)
class ReplicaLink:
    """One replica as its primary sees it."""

    address: str
    state: str
    """``online`` once it holds a copy; ``wait_bgsave``/``send_bulk`` while it gets one."""
    lag_s: int
    """Seconds since its last acknowledgement."""

    @property
    def in_sync(self) -> bool:
        return self.state == "online" and self.lag_s <= MIN_REPLICAS_MAX_LAG_S


@dataclass(frozen=True, slots=True)
class Replication:
    """What the region's Redis said; ``error`` set when the primary could not be asked."""

    primary: str | None
    """``host:port`` a majority of the Sentinels name (the server itself for a single one)."""
    sentinels: tuple[int, int] | None = None
    """(answered, listed) for a Sentinel URL; None for a single server."""
    role: str | None = None
    """What the named primary says it is: ``master``, or ``slave`` if the Sentinels lag."""
    replicas: tuple[ReplicaLink, ...] = field(default=())
    error: str | None = None


def replicas_from_info(info: Mapping[str, Any]) -> tuple[ReplicaLink, ...]:
    """The replicas listed by ``INFO replication`` as redis-py parses it (``slaveN`` entries
    are dicts of ip, port, state, offset, lag)."""
    links = []
    for key in sorted(k for k in info if _REPLICA_KEY.match(str(k))):
        entry = info[key]
        if not isinstance(entry, Mapping):
            continue
        links.append(
            ReplicaLink(
                address=f"{entry.get('ip', '?')}:{entry.get('port', '?')}",
                state=str(entry.get("state", "unknown")),
                lag_s=int(entry.get("lag", 0)),
            )
        )
    return tuple(links)


def majority(answers: list[str | None]) -> str | None:
    """The primary more than half of the listed Sentinels name (None answers: no reply)."""
    votes: dict[str, int] = {}
    for a in answers:
        if a is not None:
            votes[a] = votes.get(a, 0) + 1
    best = max(votes.items(), key=lambda kv: kv[1], default=None)
    return best[0] if best and best[1] * 2 > len(answers) else None


def assess(r: Replication, wanted: int) -> tuple[dict[str, Any], Observed]:
    """``status.redis`` and the ``RedisReplicated`` condition for ``wanted`` replicas."""
    in_sync = [x for x in r.replicas if x.in_sync]
    status: dict[str, Any] = {
        "primary": r.primary,
        "replicasWanted": wanted,
        "replicasConnected": len(r.replicas),
        "replicasInSync": len(in_sync),
    }
    if r.sentinels is not None:
        status["sentinels"] = f"{r.sentinels[0]}/{r.sentinels[1]}"
    status = {k: v for k, v in status.items() if v is not None}
    if r.error is not None:
        return status, Observed(CONDITION, False, "Unreachable", r.error)
    if r.primary is None:
        answered = f"{r.sentinels[0]} of {r.sentinels[1]}" if r.sentinels else "no"
        return status, Observed(
            CONDITION,
            False,
            "NoPrimary",
            f"no majority of Sentinels names a primary ({answered} answered)",
        )
    if r.role != "master":
        return status, Observed(
            CONDITION, False, "NotPrimary", f"{r.primary}, named primary, says it is {r.role}"
        )
    if len(in_sync) < wanted:
        behind = [f"{x.address} {x.state} lag {x.lag_s}s" for x in r.replicas if not x.in_sync]
        message = f"{len(in_sync)} of {wanted} replicas in sync with {r.primary}"
        if behind:
            message += "; behind: " + ", ".join(behind)
        return status, Observed(CONDITION, False, "ReplicasBehind", message)
    return status, Observed(
        CONDITION, True, "InSync", f"{len(in_sync)} replicas in sync with {r.primary}"
    )
