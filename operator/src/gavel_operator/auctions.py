"""The operator's side of Redis: a drop's rules into its regions, its state back, and how each
region's Redis replicates. I/O adapter.

Called by :mod:`gavel_operator.drop_sync` and (:func:`replication`) by
:mod:`gavel_operator.region_sync`. The home region's Redis decides every bid, so the
drop is opened there with the same idempotent script ``gavel drops open`` uses
(:func:`gavel.drops.open_drop`); every other participating region gets a copy of the rules,
which its gateways read to find the home region. Each region's Redis is reached at the
``spec.endpoints.redisUrl`` of its Region.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gavel import drops, events, keys, redis_client, redis_url, state_hash
from gavel.auction import Rules
from gavel.drop_rules import Listing
from gavel_operator.redis_health import Replication, majority, replicas_from_info

CONNECT_TIMEOUT_S, READ_TIMEOUT_S = 2.0, 5.0
SENTINEL_TIMEOUT_S = 1.0
"""Per Sentinel, when asking which node is the primary: one that does not answer in time
counts as silent and the others still decide."""


class RedisPool:
    """One client per Redis URL, shared by every drop."""

    def __init__(self) -> None:
        self._clients: dict[str, Redis] = {}

    def get(self, url: str) -> Redis:
        client = self._clients.get(url)
        if client is None:
            client = self._clients[url] = redis_client.connect(
                url,
                socket_connect_timeout=CONNECT_TIMEOUT_S,
                socket_timeout=READ_TIMEOUT_S,
            )
        return client

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


async def publish(redis: Redis, rules: Rules, *, home: bool, listing: Listing | None = None) -> str:
    """Open the drop (home) or copy its rules (elsewhere), with its listing (what the region's
    drop page shows) when given; raises RulesFrozenError when the home Redis refuses a change
    to a drop that has opened."""
    if listing is not None:
        await drops.write_listing(redis, rules.drop_id, listing)
    if home:
        return await drops.open_drop(redis, rules)
    await drops.write_rules_copy(redis, rules)
    return "rules copied"


@dataclass(frozen=True, slots=True)
class Standing:
    """A drop's standing as its home Redis has it."""

    high_bid: int
    bids: int
    leader_alias: str | None
    ends_at_ms: int


async def standing(redis: Redis, drop_id: str) -> Standing | None:
    """The drop's standing from its state hash, or None before it was opened there."""
    state = state_hash.parse(await redis.hgetall(keys.for_drop(drop_id).state))
    if state is None:
        return None
    return Standing(
        high_bid=state.high_bid or 0,
        bids=state.bids,
        leader_alias=events.leader_alias(drop_id, state.leader) if state.leader else None,
        ends_at_ms=state.ends_at_ms,
    )


async def outbox_backlog(redis: Redis, drop_id: str) -> int:
    """Entries of the drop's event stream the relay has not yet handed to Kafka: the audit
    trail is complete only once this is zero."""
    stream = keys.for_drop(drop_id).events
    if not await redis.exists(stream):
        return 0
    groups = {_text(g["name"]): g for g in await redis.xinfo_groups(stream)}
    group = groups.get(keys.RELAY_GROUP)
    if group is None:
        return int(await redis.xlen(stream))
    # At most a page: deletion only needs to know whether anything is left.
    undelivered = await redis.xrange(
        stream, min=f"({_text(group['last-delivered-id'])}", count=1000
    )
    return int(group["pending"]) + len(undelivered or [])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def remove(redis: Redis, drop_id: str, *, home: bool) -> None:
    """Remove the drop from this Redis (home: its whole state; elsewhere: the rules copy)."""
    k = keys.for_drop(drop_id)
    if not home:
        await redis.delete(k.rules, k.listing, k.observers)
        return
    # Out of the index first: a relay that finds the stream gone re-reads the index before it
    # would create the stream again (gavel.relay.streams.DropStreams.regroup).
    await redis.srem(keys.DROP_INDEX, drop_id)
    await redis.delete(k.rules, k.listing, k.state, k.bids, k.events, k.observers)


async def replication(url: str, client: Redis) -> Replication:
    """The region's Redis at ``url``: the primary its Sentinels name, and that primary's view of
    its replicas (``INFO replication``, read through ``client``, the pool's client of ``url``).
    Never raises for Redis trouble: the error goes in the answer."""
    address = redis_url.parse(url)
    sentinels: tuple[int, int] | None = None
    if isinstance(address, redis_url.SentinelService):
        answers = await asyncio.gather(
            *(
                _named_primary(h, p, address.service, address.username, address.password)
                for h, p in address.sentinels
            )
        )
        sentinels = (sum(a is not None for a in answers), len(answers))
        primary = majority(list(answers))
        if primary is None:
            return Replication(None, sentinels)
    else:
        kwargs = client.connection_pool.connection_kwargs
        primary = f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
    try:
        info = await client.info("replication")
    except (RedisError, OSError) as exc:
        return Replication(primary, sentinels, error=f"{primary}: {exc}")
    return Replication(primary, sentinels, str(info.get("role")), replicas_from_info(info))


async def _named_primary(
    host: str, port: int, service: str, username: str | None, password: str | None
) -> str | None:
    """``host:port`` of ``service``'s primary as one Sentinel names it, asked with the URL's
    login (Sentinels refuse strangers); None if it does not answer or names none."""
    sentinel = Redis(
        host=host,
        port=port,
        username=username,
        password=password,
        socket_timeout=SENTINEL_TIMEOUT_S,
        socket_connect_timeout=SENTINEL_TIMEOUT_S,
        decode_responses=True,
    )
    try:
        got = await sentinel.sentinel_get_master_addr_by_name(service)
    except (RedisError, OSError):
        return None
    finally:
        await sentinel.aclose()
    if not isinstance(got, tuple):  # redis-py answers False when the Sentinel knows none
        return None
    return f"{_text(got[0])}:{got[1]}"
