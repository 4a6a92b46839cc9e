"""What the drop page knows of a drop beyond its price: rules and listing, from this region's
Redis, cached. The I/O half of the page (:mod:`gavel.fanout.page` is the pure half).

Called by :mod:`gavel.fanout.web` for every ``GET /drops/{drop}``. Every participating region's
Redis holds a copy of a drop's rules and its listing (``gavel drops open`` and the operator write
them), so the fan-out reads its own region's. A crowd loading one page at a drop's start costs
one read per drop per :data:`TTL_S`: answers are cached (an unknown name too, more briefly), and
concurrent loads of one drop share one read. The cache holds at most :data:`MAX_ENTRIES` names,
so random names cannot grow it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gavel import keys, redis_client
from gavel.auction import Rules
from gavel.drop_rules import Listing, listing_from_hash, rules_from_hash

TTL_S = 5.0
"""How long a drop's rules are reused; its end moves only through price events, which the page
takes from the feed, and other changes (a title, a cancellation) may show 5 s late."""
MISSING_TTL_S = 1.0
MAX_ENTRIES = 4096
TIMEOUT_S = 1.0


class CatalogUnavailable(Exception):  # noqa: N818 - a state the page reports, not a bug
    """This region's Redis did not answer: the page says so and asks to retry."""


@dataclass(frozen=True, slots=True)
class DropInfo:
    rules: Rules
    listing: Listing


class Catalog:
    def __init__(self, redis_url: str | None) -> None:
        self.redis: Redis | None = (
            redis_client.connect(
                redis_url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
            )
            if redis_url
            else None
        )
        self._cache: dict[str, tuple[float, DropInfo | None]] = {}
        self._reading: dict[str, asyncio.Future[DropInfo | None]] = {}

    @property
    def enabled(self) -> bool:
        return self.redis is not None

    async def lookup(self, drop: str) -> DropInfo | None:
        """The drop's rules and listing, None if this region has no such drop; raises
        CatalogUnavailable when Redis does not answer."""
        now = time.monotonic()
        cached = self._cache.get(drop)
        if cached is not None and cached[0] > now:
            return cached[1]
        reading = self._reading.get(drop)
        if reading is None:
            reading = self._reading[drop] = asyncio.ensure_future(self._read(drop))
            reading.add_done_callback(lambda _: self._reading.pop(drop, None))
        return await asyncio.shield(reading)

    async def _read(self, drop: str) -> DropInfo | None:
        assert self.redis is not None
        k = keys.for_drop(drop)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hgetall(k.rules)
                pipe.hgetall(k.listing)
                rules_hash, listing_hash = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise CatalogUnavailable(str(exc)) from exc
        info = (
            DropInfo(rules_from_hash(drop, rules_hash), listing_from_hash(listing_hash))
            if rules_hash
            else None
        )
        self._remember(drop, info)
        return info

    def _remember(self, drop: str, info: DropInfo | None) -> None:
        if drop not in self._cache and len(self._cache) >= MAX_ENTRIES:
            self._cache.pop(next(iter(self._cache)))  # the oldest entry
        ttl = TTL_S if info is not None else MISSING_TTL_S
        self._cache[drop] = (time.monotonic() + ttl, info)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
