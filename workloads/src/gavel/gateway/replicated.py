"""Acknowledged means replicated: bids to one home Redis, decided in batches, each batch
confirmed by one ``WAIT``.

Used by :class:`gavel.gateway.service.BidService` for every home region whose Redis has
replicas (``GatewaySettings.wait_replicas_for``). An attempt is queued; a few *lanes* (one
coroutine each) take whatever is queued, up to ``max_batch``, and send it as one pipeline on
one connection: every ``EVALSHA`` and then ``WAIT replicas timeout``
(:func:`gavel.bidding.place_bids_replicated`). ``WAIT`` covers every write the connection made
before it, so one ``WAIT`` confirms the whole batch.

Why the cost per bid falls under load: with few bids in flight each lane carries one bid, and
its ``WAIT`` rides in the same round trip as the ``EVALSHA`` (the price is the replica's
acknowledgement, well under a millisecond on a LAN). When bids arrive faster than a lane's
round trip, they queue while the lanes are busy and the next batches are larger, so the number
of ``WAIT`` calls (and round trips) grows with the round-trip rate, not with the bid rate.

How many replicas: every replica connected to the primary, and at least ``replicas``. Waiting
for only one of two would let Sentinel promote the other, which may lack the decision: Sentinel
compares replicas by the offsets it last read from them, up to seconds old, so it can pick the
one behind. With every connected replica holding every acknowledged decision, whichever one
Sentinel promotes has them all. A replica that goes away is still waited for during a hold
(:mod:`gavel.gateway.replica_target`): it may be the one being promoted. Each batch's pipeline
starts with ``INFO replication``, so the count and the hold belong to the node that decided
the batch, even while a pool still holds connections to an old primary after a failover. The
``WAIT`` target is the previous batch's node's; when the batch reached a node that needs more,
a second ``WAIT`` for that count follows (after a fence write, so it covers the batch) and
counts only if it ran on the same node.

A batch that Redis answered but whose ``WAIT`` saw fewer replicas than needed, or a bid that
Redis refused as not writable now (``NOREPLICAS``, ``READONLY`` from an old primary turned
replica: :func:`not_writable`), raises :class:`NotReplicatedError`; a connection error raises
as is. The service turns both into a
503 ``unavailable``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from gavel import bidding
from gavel.bidding import BidCall, BidResult
from gavel.gateway import metrics
from gavel.gateway.replica_target import ReplicaTargets

_Pending = tuple[BidCall, "asyncio.Future[BidResult]"]


class NotReplicatedError(Exception):
    """Redis may have decided the attempt, but not enough replicas confirmed it in time."""


NOT_WRITABLE_CODES = ("NOREPLICAS", "MASTERDOWN")
"""Error codes redis-py leaves in the message (it has no class for them)."""


def not_writable(error: redis_errors.RedisError) -> bool:
    """Whether ``error`` is a node saying it cannot take writes now: a primary without enough
    replicas (``NOREPLICAS``), a node demoted to replica (``READONLY``: a pooled connection
    still on the old primary after a failover), one loading its data (``LOADING``), a replica
    whose primary is down (``MASTERDOWN``). Each means "try again", never a 500."""
    if isinstance(error, redis_errors.ReadOnlyError | redis_errors.BusyLoadingError):
        return True
    code = str(error).split(" ", 1)[0]
    return isinstance(error, redis_errors.ResponseError) and code in NOT_WRITABLE_CODES


class ReplicatedBids:
    """Decides attempts in one home region's Redis, answering only once they are replicated."""

    def __init__(
        self,
        client: Redis,
        *,
        replicas: int,
        timeout_ms: int,
        lanes: int = 4,
        max_batch: int = 64,
    ) -> None:
        if replicas < 1:
            raise ValueError("ReplicatedBids needs at least one replica to wait for")
        self._client = client
        self._replicas = replicas
        self._timeout_ms = timeout_ms
        self._lanes = lanes
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._targets = ReplicaTargets(floor=replicas)

    async def place(self, call: BidCall) -> BidResult:
        """Decide ``call``; returns once ``replicas`` replicas hold the decision."""
        if not self._tasks:  # started lazily: the lanes need the serving event loop
            self._tasks = [asyncio.create_task(self._lane()) for _ in range(self._lanes)]
        future: asyncio.Future[BidResult] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((call, future))
        return await future

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        while not self._queue.empty():
            _, future = self._queue.get_nowait()
            _fail(future, NotReplicatedError("the gateway is shutting down"))

    async def _lane(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._decide(batch)
            except Exception as exc:  # noqa: BLE001 - every waiter gets the error, the lane lives
                for _, future in batch:
                    _fail(future, exc)

    async def _decide(self, batch: list[_Pending]) -> None:
        metrics.REPLICATION_BATCH.observe(len(batch))
        # WAIT for what the node of the previous batch needs: almost always the same node. The
        # batch's own INFO then tells which node it reached and what that one needs.
        guess = self._targets.needed(self._targets.last_node, time.monotonic())
        results, acked, seen = await bidding.place_bids_replicated(
            self._client,
            [call for call, _ in batch],
            replicas=guess,
            timeout_ms=self._timeout_ms,
        )
        now = time.monotonic()
        self._targets.observe(seen.node, seen.connected, now)
        needed = self._targets.needed(seen.node, now)
        confirmed = seen.role == "master" and acked >= needed
        repeat = any(isinstance(r, BidResult) and r.duplicate for r in results)
        short = seen.role == "master" and acked < needed and guess < needed
        if (confirmed and repeat) or short:
            # A repeat's first decision may have been written on another connection; or the
            # batch reached a node that needs more replicas than the WAIT asked for (a gateway
            # that just started, a replica that just connected). A fence write and a WAIT for
            # the node's count cover both, if they reach the same node.
            try:
                acked, again = await bidding.confirm_replicated(
                    self._client, replicas=needed, timeout_ms=self._timeout_ms
                )
            except (redis_errors.ResponseError, redis_errors.BusyLoadingError) as exc:
                if not not_writable(exc):
                    raise
                acked, again = -1, seen
            confirmed = again.node == seen.node and again.role == "master" and acked >= needed
        if not confirmed:
            metrics.REPLICATION_UNCONFIRMED.inc(len(batch))
        for (_, future), result in zip(batch, results, strict=True):
            if isinstance(result, redis_errors.RedisError):
                _fail(future, NotReplicatedError(str(result)) if not_writable(result) else result)
            elif not confirmed:
                _fail(future, NotReplicatedError(f"{acked} of {needed} replicas confirmed"))
            elif not future.done():
                future.set_result(result)


def _fail(future: asyncio.Future[BidResult], exc: BaseException) -> None:
    if not future.done():  # the request may have gone (client disconnected)
        future.set_exception(exc)
