"""The one way to get a Redis client for a region: it follows the primary through failovers.

Used by the gateway, the relay, ``gavel drops open``, the operator's auctions adapter, and the
dev stack's harness, so every one of them reads ``REDIS_URL_<REGION>`` the same way
(:mod:`gavel.redis_url`). A single-server URL gives a plain client. A Sentinel URL gives a
client whose connections ask the Sentinels for the current primary each time they (re)connect:
after a failover, a connection to the old primary fails (refused, timed out, or ``READONLY``
once it was turned into a replica), redis-py drops it, and the next command connects to the
new primary. No restart, no extra code in the callers: their existing retries on connection
errors are the reconnect.
"""

from __future__ import annotations

from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

from gavel import redis_url

_SENTINEL_TIMEOUT_S = 0.5
"""Per-Sentinel timeout while asking for the primary: a hung Sentinel is skipped quickly and
the next one asked, so one bad Sentinel never costs a bid more than this."""


class _PrimaryOfService(Redis):
    """A client of a Sentinel service's primary that also closes its Sentinel connections."""

    sentinels: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        if self.sentinels is not None:
            await self.sentinels.aclose()


def connect(url: str, **kwargs: Any) -> Redis:
    """A client of the Redis at ``url`` (``redis://`` or ``redis+sentinel://``).

    ``kwargs`` are redis-py connection options (``socket_timeout``...), applied to the
    connections to the primary. Raises :class:`gavel.redis_url.RedisUrlError` for a bad URL.
    """
    address = redis_url.parse(url)
    if isinstance(address, redis_url.SingleServer):
        return Redis.from_url(address.url, **kwargs)
    sentinels = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        list(address.sentinels),
        sentinel_kwargs={
            "socket_timeout": _SENTINEL_TIMEOUT_S,
            "socket_connect_timeout": _SENTINEL_TIMEOUT_S,
        },
    )
    client = cast(
        "_PrimaryOfService",
        sentinels.master_for(
            address.service, redis_class=_PrimaryOfService, db=address.db, **kwargs
        ),
    )
    client.sentinels = sentinels
    return client
