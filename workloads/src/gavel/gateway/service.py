"""One bid attempt, from an authenticated request to a decision.

Called by the gateway's bid handling (REST and WebSocket). The decision is made by
``lua/place_bid.lua`` in the drop's home-region Redis, sent on that region's pipelined
connection (:class:`gavel.gateway.replicated.ReplicatedBids`); when
that Redis cannot be reached, or the drop is unknown, the gateway decides at the edge and writes
the event to its disk outbox (:mod:`gavel.outbox`) before answering, so every attempt of an
authenticated bidder is audited.

An edge event gets an event id of its own: after a timeout the gateway cannot know whether
Redis ran the script, and if it did, that decision's event (with the attempt's id) reaches the
audit trail too. Both are true records; neither overwrites the other.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from gavel import bidding, drop_rules, keys, redis_client, state_hash
from gavel.auction import Decision, Reason, Rules, State
from gavel.bidding import BidResult
from gavel.events import BidEvent
from gavel.gateway import metrics
from gavel.gateway.replicated import NotReplicatedError, ReplicatedBids
from gavel.gateway.settings import GatewaySettings
from gavel.outbox import OutboxWriter

_UNREACHABLE = (redis_errors.ConnectionError, redis_errors.TimeoutError, TimeoutError, OSError)

log = logging.getLogger(__name__)


class UnavailableError(Exception):
    """The Redis needed to answer could not be reached."""


@dataclass(frozen=True, slots=True)
class Attempt:
    drop_id: str
    bidder: str
    bid_id: str
    amount: int
    received_ms: int
    event_id: str


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Directory:
    """Which region is a drop's home: read from the local region's copy of its rules."""

    def __init__(self, local: Redis, ttl_s: float) -> None:
        self._local = local
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lookups: dict[str, asyncio.Future[str | None]] = {}

    async def home_of(self, drop_id: str) -> str | None:
        """The home region of ``drop_id``, or None if this region knows no such drop."""
        hit = self._cache.get(drop_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        if not keys.DROP_ID_PATTERN.match(drop_id):
            return None
        # One lookup per drop at a time: when the entry expires under load, the bids in flight
        # wait for the same HGET instead of each opening a connection for its own.
        lookup = self._lookups.get(drop_id)
        if lookup is None:
            lookup = asyncio.ensure_future(self._lookup(drop_id, hit))
            self._lookups[drop_id] = lookup
            lookup.add_done_callback(lambda _: self._lookups.pop(drop_id, None))
        return await asyncio.shield(lookup)

    async def _lookup(self, drop_id: str, hit: tuple[float, str | None] | None) -> str | None:
        try:
            raw = await self._local.hget(keys.for_drop(drop_id).rules, "home_region")
        except _UNREACHABLE as exc:
            if hit:  # a stale answer beats none: homes never change once a drop opened
                return hit[1]
            raise UnavailableError(str(exc)) from exc
        home = (raw.decode() if isinstance(raw, bytes) else raw) if raw else None
        # Unknown ids are remembered briefly too, so a flood of them costs Redis little.
        self._cache[drop_id] = (time.monotonic() + self._ttl_s, home)
        return home


class BidService:
    """Decides attempts; owns the Redis clients and the disk outbox of one gateway process."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.redis = {
            region: redis_client.connect(
                url,
                socket_timeout=settings.redis_timeout_s,
                socket_connect_timeout=settings.redis_timeout_s,
            )
            for region, url in settings.redis_urls.items()
        }
        if settings.region not in self.redis:
            raise ValueError(f"no Redis URL for the gateway's own region {settings.region!r}")
        # Bids go out on a pipelined connection of their own per home region (automatic
        # pipelining, docs/decisions.md 45); the redis-py clients above serve everything else.
        self.bids = {
            region: ReplicatedBids(
                url,
                replicas=settings.wait_replicas_for(region),
                timeout_ms=settings.wait_timeout_ms,
                redis_timeout_s=settings.redis_timeout_s,
            )
            for region, url in settings.redis_urls.items()
        }
        self.directory = Directory(self.redis[settings.region], settings.home_cache_ttl_s)
        self.outbox = OutboxWriter(settings.outbox_dir, f"gateway-{settings.region}")
        self._outbox_lock = asyncio.Lock()

    async def close(self) -> None:
        await self.flush_outbox()
        for bids in self.bids.values():
            await bids.close()
        for client in self.redis.values():
            await client.aclose()

    async def submit(self, attempt: Attempt) -> BidResult:
        """Decide ``attempt``; never raises for Redis trouble (that becomes ``unavailable``)."""
        try:
            home = await self.directory.home_of(attempt.drop_id)
            if home is None:
                return await self._edge(attempt, Reason.UNKNOWN_DROP)
            bids = self.bids.get(home)
            if bids is None:
                return await self._edge(attempt, Reason.UNAVAILABLE)
            call = bidding.bid_call(
                attempt.drop_id,
                attempt.bidder,
                attempt.bid_id,
                attempt.amount,
                event_id=attempt.event_id,
                received_ms=attempt.received_ms,
                region=self.settings.region,
                limit=self.settings.rate_limit,
            )
            result = await bids.place(call)
        except (UnavailableError, NotReplicatedError, *_UNREACHABLE):
            return await self._edge(attempt, Reason.UNAVAILABLE)
        if result.decision.reason is Reason.UNKNOWN_DROP:
            return await self._edge(attempt, Reason.UNKNOWN_DROP)
        return result

    async def flush_outbox(self) -> None:
        """Hand the open outbox segment to the relay (called every second and at shutdown)."""
        async with self._outbox_lock:
            await asyncio.to_thread(self.outbox.close_segment)

    async def _edge(self, attempt: Attempt, reason: Reason) -> BidResult:
        decision = Decision.edge(reason, now_ms())
        event = BidEvent(
            event_id=str(uuid.uuid4()),
            drop=attempt.drop_id,
            bidder=attempt.bidder,
            bid_id=attempt.bid_id,
            amount=attempt.amount,
            received_ms=attempt.received_ms,
            region=self.settings.region,
            decision=decision,
        )
        async with self._outbox_lock:  # one writer per process; fsync off the event loop
            await asyncio.to_thread(self.outbox.append, event)
        metrics.OUTBOX_EVENTS.labels(reason.value).inc()
        return BidResult(event.event_id, decision, duplicate=False, retry_after_ms=0)

    async def view(self, drop_id: str) -> tuple[Rules, State] | None:
        """Rules and state of a drop, from its home region; None if unknown."""
        home = await self.directory.home_of(drop_id)
        client = self.redis.get(home) if home else None
        if client is None:
            return None
        k = keys.for_drop(drop_id)
        async with client.pipeline(transaction=False) as pipe:
            pipe.hgetall(k.rules)
            pipe.hgetall(k.state)
            rules_raw, state_raw = await pipe.execute()
        state = state_hash.parse(state_raw)
        if not rules_raw or state is None:
            return None
        return drop_rules.rules_from_hash(drop_id, rules_raw), state

    async def ready(self) -> bool:
        """Own region's Redis answers and has place_bid loaded (by the loader: the gateway's
        user may not load scripts, so a missing script keeps it not ready, and says why)."""
        from gavel import luascripts  # noqa: PLC0415

        client = self.redis[self.settings.region]
        script = luascripts.script("place_bid")
        try:
            if not (await client.script_exists(script.sha))[0]:
                await script.load(client)
        except luascripts.ScriptNotLoadedError as exc:
            log.warning("not ready: %s", exc)
            return False
        except _UNREACHABLE:
            return False
        return True
