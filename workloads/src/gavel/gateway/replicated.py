"""Bids to one home Redis: pipelined on one connection, and (with replicas) answered only once
replicated, every batch confirmed by one ``WAIT``.

Used by :class:`gavel.gateway.service.BidService`, one per home region. Each attempt is one
``EVALSHA`` of ``place_bid.lua`` handed to a :class:`gavel.gateway.redis_pipe.RedisPipe`: the
attempts of one event-loop turn go out as one write on one connection (automatic pipelining),
instead of one round trip each. For a region with replicas
(``GatewaySettings.wait_replicas_for``) every batch ends with ``WAIT replicas timeout``, which
covers every write the connection made before it, so one ``WAIT`` confirms the whole batch; the
pipe holds the next batch back while a ``WAIT`` is out, so under load the batches grow and the
number of ``WAIT`` calls follows the replicas' round trips, not the bid rate.

How many replicas: every replica connected to the primary, and at least ``replicas``. Waiting
for only one of two would let Sentinel promote the other, which may lack the decision: Sentinel
compares replicas by the offsets it last read from them, up to seconds old, so it can pick the
one behind. With every connected replica holding every acknowledged decision, whichever one
Sentinel promotes has them all. A replica that goes away is still waited for during a hold
(:mod:`gavel.gateway.replica_target`, decision 39): it may be the one a failover is promoting,
while the old primary keeps the others for a second. The hold is kept per node (its
``master_replid``): the connection's first command after the handshake is ``INFO
replication`` (:attr:`RedisPipe.greeting`), so the gateway knows which node it reached before
any answer on it is settled; until then the ``WAIT`` asks for the most any recent node needs.

A decision whose ``WAIT`` saw fewer replicas than needed, or a bid Redis refused with
``NOREPLICAS`` (a primary without enough live replicas), raises :class:`NotReplicatedError`;
``READONLY`` (the connection reached a former primary) drops the connection and raises
:class:`NotReplicatedError` too; a connection failure raises
:class:`gavel.gateway.redis_pipe.PipeBrokenError`. The service turns all of them into a 503
``unavailable``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import hiredis

from gavel import bidding, keys, luascripts
from gavel.bidding import BidCall, BidResult
from gavel.gateway import metrics
from gavel.gateway.pipelining import Arg
from gavel.gateway.redis_pipe import RedisPipe
from gavel.gateway.replica_target import ReplicaTargets
from gavel.redis_client import PrimaryLocator

_CONNECTED_TTL_S = 1.0
"""How long a count of connected replicas is trusted. A replica that joins is waited for from
the next count on (it copies the whole data set meanwhile); one that goes away is noticed at
the first ``WAIT`` it fails."""

_UNAVAILABLE_REPLIES = (
    "NOREPLICAS", "READONLY", "LOADING", "MASTERDOWN", "TRYAGAIN", "BUSY", "NOAUTH", "WRONGPASS",
)  # fmt: skip
"""Error replies that mean "this Redis cannot decide now (or not for us)", not "the script is
wrong": the attempt goes to the disk outbox as ``unavailable``, as when Redis is unreachable."""


def unavailable(message: str) -> bool:
    """Whether an error reply means "this Redis cannot decide now": try again, never a 500."""
    return message.startswith(_UNAVAILABLE_REPLIES)


class NotReplicatedError(Exception):
    """Redis may have decided the attempt, but not enough replicas confirmed it in time (or the
    primary refused to decide for want of replicas, or is not the primary any more)."""


class RedisReplyError(Exception):
    """Redis answered an error that no retry fixes (a bug: the script or its arguments)."""


class ReplicatedBids:
    """Decides attempts in one home region's Redis; with ``replicas`` > 0 answers only once
    they are replicated."""

    def __init__(self, url: str, *, replicas: int, timeout_ms: int, redis_timeout_s: float) -> None:
        self._locator = PrimaryLocator(url)
        self._replicas = replicas
        self._timeout_ms = timeout_ms
        self.pipe = RedisPipe(
            self._locator,
            timeout_s=redis_timeout_s,
            trailer=self._wait_command if replicas > 0 else None,
            name="gavel-gateway-bids",
        )
        self.pipe.on_batch = metrics.REPLICATION_BATCH.observe
        self.pipe.greeting = (("INFO", "replication"), self._counted)
        self._targets = ReplicaTargets(floor=replicas)
        self._node: str | None = None
        """The replication id of the node the connection reached (None: not known yet)."""
        self._connected_at = -1.0
        self._counting: asyncio.Task[int] | None = None

    def _wait_command(self) -> Sequence[Arg]:
        if time.monotonic() - self._connected_at > _CONNECTED_TTL_S and self._counting is None:
            self._counting = asyncio.get_running_loop().create_task(self._count_replicas())
            # A broken pipe fails the bids themselves; the count just tries again next time.
            self._counting.add_done_callback(lambda t: t.cancelled() or t.exception())
        return ("WAIT", self._needed(), self._timeout_ms)

    def _needed(self) -> int:
        now = time.monotonic()
        if self._node is None:  # a new connection, its node not known yet: the most careful
            return self._targets.ceiling(now)
        return self._targets.needed(self._node, now)

    def _counted(self, reply: object) -> None:
        """Take in an ``INFO replication`` reply of the connection's node."""
        if not isinstance(reply, bytes):
            self._node = None
            return
        fields = dict(
            line.partition(":")[::2] for line in reply.decode().splitlines() if ":" in line
        )
        now = time.monotonic()
        self._node = fields.get("master_replid", "")
        self._targets.observe(self._node, int(fields.get("connected_slaves", 0)), now)
        self._connected_at = now

    async def _count_replicas(self) -> int:
        """What the connection's node needs now, counted afresh (``INFO replication``)."""
        try:
            reply, _ = await self.pipe.call(("INFO", "replication"))
            self._counted(reply)
        finally:
            self._counting = None
        return self._needed()

    async def place(self, call: BidCall) -> BidResult:
        """Decide ``call``; with replicas, returns once enough replicas hold the decision."""
        replicate = self._replicas > 0
        reply, acked = await self.pipe.call(bidding.evalsha_command(call), replicate=replicate)
        if isinstance(reply, hiredis.ReplyError) and str(reply).startswith("NOSCRIPT"):
            # A restarted or new primary lacks the script; EVALSHA of a missing script wrote
            # nothing, so load it and send the attempt again.
            loaded, _ = await self.pipe.call(
                ("SCRIPT", "LOAD", luascripts.script("place_bid").source)
            )
            if isinstance(loaded, hiredis.ReplyError):
                # NOPERM: the gateway's ACL user may not load scripts; the loader must.
                raise self._refusal(str(luascripts.ScriptNotLoadedError("place_bid")))
            reply, acked = await self.pipe.call(bidding.evalsha_command(call), replicate=replicate)
        if isinstance(reply, hiredis.ReplyError):
            raise self._refusal(str(reply))
        result = bidding.result_of(reply)
        if replicate:
            await self._confirm(acked, result)
        return result

    async def _confirm(self, acked: object, result: BidResult) -> None:
        node, needed = self._node, self._needed()
        short = not isinstance(acked, int) or acked < needed
        if short and node is not None and self._targets.latest(node) >= needed:
            # The replicas are there, the WAIT asked for fewer: it was sent before the node was
            # known (a new connection) or before a replica joined. Confirm again, below.
            short = False
            fence = True
        else:
            fence = result.duplicate
        if short:
            metrics.REPLICATION_UNCONFIRMED.inc()
            raise NotReplicatedError(f"{acked} of {needed} replicas confirmed")
        if fence:
            # A write of our own moves this connection's offset past the decision (a repeat's
            # first decision may even have been written on another connection), and the WAIT
            # after it covers everything before, if the connection still reaches that node.
            _, acked = await self.pipe.call(("INCR", keys.WAIT_FENCE), replicate=True)
            needed = self._needed()
            if self._node != node or not isinstance(acked, int) or acked < needed:
                metrics.REPLICATION_UNCONFIRMED.inc()
                raise NotReplicatedError(f"{acked} of {needed} replicas confirmed")

    def _refusal(self, message: str) -> Exception:
        if message.startswith("READONLY"):
            self.pipe.reset()  # a former primary: the next call asks the Sentinels again
        if unavailable(message):
            return NotReplicatedError(message)
        return RedisReplyError(message)

    async def close(self) -> None:
        await self.pipe.close()
        await self._locator.aclose()
