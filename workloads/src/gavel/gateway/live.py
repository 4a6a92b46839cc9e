"""Outbid pushes: who is connected on a bidder socket, and telling them when they lose the lead.

``place_bid.lua`` publishes every accepted bid on the drop's ``live`` channel with the previous
leader. Each gateway process subscribes, per home-region Redis, to the channels of drops that
have a bidder socket open here, and forwards an ``outbid`` message to that bidder's sockets.
Pub/sub is fire-and-forget: a missed push costs a bidder a notification, never a bid; the
price itself reaches everybody through Kafka and the fan-out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from gavel import keys

log = logging.getLogger(__name__)

Push = Callable[[dict[str, object]], None]
"""Queues a message for one socket; must not block (the socket's own task sends it)."""


class OutbidNotifier:
    """Routes ``live`` messages to the bidder sockets of previous leaders."""

    def __init__(self, redis_by_region: dict[str, Redis]) -> None:
        self._redis = redis_by_region
        self._pubsub: dict[str, PubSub] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._sockets: dict[str, dict[str, set[Push]]] = defaultdict(lambda: defaultdict(set))
        self._region_of: dict[str, str] = {}

    async def join(self, home: str, drop_id: str, bidder: str, push: Push) -> None:
        sockets = self._sockets[drop_id]
        first = not sockets
        sockets[bidder].add(push)
        if first:
            self._region_of[drop_id] = home
            pubsub = await self._pubsub_for(home)
            await pubsub.subscribe(keys.for_drop(drop_id).live)

    async def leave(self, drop_id: str, bidder: str, push: Push) -> None:
        sockets = self._sockets.get(drop_id)
        if sockets is None:
            return
        sockets[bidder].discard(push)
        if not sockets[bidder]:
            del sockets[bidder]
        if not sockets:
            del self._sockets[drop_id]
            home = self._region_of.pop(drop_id)
            with contextlib.suppress(Exception):
                await self._pubsub[home].unsubscribe(keys.for_drop(drop_id).live)

    def dispatch(self, drop_id: str, payload: bytes) -> int:
        """Push ``outbid`` to the previous leader's sockets; returns how many got it."""
        sockets = self._sockets.get(drop_id)
        if not sockets:
            return 0
        o = msgspec.json.decode(payload)
        loser = o.get("prev_leader")
        if not loser or loser == o.get("leader") or loser not in sockets:
            return 0
        message: dict[str, object] = {
            "type": "outbid",
            "drop": drop_id,
            "seq": int(o["seq"]),
            "high_bid": int(o["high_bid"]),
            "min_next": int(o["min_next"]),
            "ends_at_ms": int(o["ends_at_ms"]),
        }
        for push in list(sockets[loser]):
            push(message)
        return len(sockets[loser])

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for pubsub in self._pubsub.values():
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _pubsub_for(self, region: str) -> PubSub:
        pubsub = self._pubsub.get(region)
        if pubsub is None:
            pubsub = self._redis[region].pubsub(ignore_subscribe_messages=True)
            self._pubsub[region] = pubsub
            self._tasks[region] = asyncio.create_task(self._listen(pubsub))
        return pubsub

    async def _listen(self, pubsub: PubSub) -> None:
        while True:
            try:
                if not pubsub.subscribed:
                    await asyncio.sleep(0.05)
                    continue
                message = await pubsub.get_message(timeout=1.0)
                if message and message["type"] == "message":
                    channel = message["channel"].decode()
                    drop_id = channel[1 : channel.index("}")]
                    self.dispatch(drop_id, message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:  # keep listening through a Redis blip; pushes are best effort
                log.exception("outbid listener")
                await asyncio.sleep(0.5)
