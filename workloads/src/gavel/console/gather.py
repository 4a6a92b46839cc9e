"""The readings behind ``gavel drops watch`` and ``gavel drops list``. I/O adapter.

Called by :mod:`gavel.cli.drops_commands`; makes :class:`~.snapshot.Readings` from:

* the hub (:mod:`.hub`): the Drop's spec and the status the operator writes;
* the drop's home Redis, in one transaction (so every figure is of the same instant): the
  server clock, the rules, the state hash with its decision counters, and the outbox stream's
  length and oldest entry;
* each participating region's Redis: the drop's observers there, as that region's fan-outs
  record them (:mod:`gavel.observer_hash`);
* the ``/metrics`` of each audit writer given on the command line.

A source that fails is shown as failed in the frame; the others still are. Only the hub decides
whether there is a drop to show (an unknown drop or an unreachable hub ends the command).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gavel import drop_rules, endpoints, events, keys, observer_hash, redis_client, state_hash
from gavel.console.hub import Hub
from gavel.console.snapshot import (
    DropInfo,
    Observed,
    Reading,
    Readings,
    Scrape,
    metric_total,
    participating,
)
from gavel.redis_acl import Role
from gavel.redis_url import RedisUrlError

REDIS_TIMEOUT_S = 2.0
SCRAPE_TIMEOUT_S = 1.0
AUDIT_LAG_METRIC = "gavel_audit_lag_records"


class NoRedisError(LookupError):
    """Neither the environment nor the hub's Region says where a region's Redis is."""


def redis_url_of(hub: Hub, region: str, env: Mapping[str, str] | None = None) -> str:
    """``REDIS_URL_<REGION>`` if set (what ``gavel drops open`` reads), else the Region's
    ``spec.endpoints.redisUrl`` on the hub (what the operator reads)."""
    try:
        return endpoints.redis_url(region, env, role=Role.OPERATOR)
    except endpoints.MissingEndpointError:
        pass
    obj = hub.get_region(region)
    url = ((obj or {}).get("spec") or {}).get("endpoints", {}).get("redisUrl")
    if not url:
        raise NoRedisError(
            f"no Redis for region {region!r}: set {endpoints.redis_url_var(region)} or enrol "
            "the Region on the hub with spec.endpoints.redisUrl"
        )
    return endpoints.login(str(url), Role.OPERATOR, env)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def read_redis(redis: Redis, drop_id: str) -> Reading | None:
    """The drop in its home Redis, or None when it was not opened there."""
    k = keys.for_drop(drop_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.time()
        pipe.hgetall(k.rules)
        pipe.hgetall(k.state)
        pipe.xlen(k.events)
        pipe.xrange(k.events, count=1)
        (seconds, micros), rules_raw, state_raw, backlog, oldest = await pipe.execute()
    state = state_hash.parse(state_raw)
    if state is None or not rules_raw:
        return None
    rules = drop_rules.rules_from_hash(drop_id, rules_raw)
    oldest_ms = int(_text(oldest[0][0]).split("-")[0]) if oldest else None
    return Reading(
        now_ms=int(seconds) * 1000 + int(micros) // 1000,
        currency=rules.currency,
        reserve=rules.reserve,
        opens_at_ms=rules.opens_at_ms,
        ends_at_ms=state.ends_at_ms,
        cancelled=rules.cancelled,
        high_bid=state.high_bid,
        leader_alias=events.leader_alias(drop_id, state.leader) if state.leader else None,
        counts=state_hash.counts(state_raw),
        backlog=int(backlog),
        oldest_backlog_ms=oldest_ms,
    )


async def read_observers(redis: Redis, drop_id: str) -> observer_hash.RegionObservers:
    """The drop's observers in the region of ``redis``, on that Redis' clock (the one the
    fan-outs' entries expire on)."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.time()
        pipe.hgetall(keys.for_drop(drop_id).observers)
        (seconds, micros), raw = await pipe.execute()
    return observer_hash.figures(raw, int(seconds) * 1000 + int(micros) // 1000)


def all_regions(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """``$GAVEL_REGIONS``, for drops that list no regions (every region takes part); empty when
    it is not set (then only the home region is read)."""
    try:
        return tuple(endpoints.regions(env))
    except endpoints.MissingEndpointError:
        return ()


class RegionReader:
    """Each region's Redis, found once (:func:`redis_url_of`) and connected once."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.clients: dict[str, Redis] = {}
        self.urls: dict[str, str | NoRedisError] = {}

    async def url(self, region: str) -> str:
        """Raises NoRedisError (every time) for a region with no known Redis."""
        if region not in self.urls:
            try:
                self.urls[region] = await asyncio.to_thread(redis_url_of, self.hub, region)
            except NoRedisError as exc:
                self.urls[region] = exc
        found = self.urls[region]
        if isinstance(found, NoRedisError):
            raise found
        return found

    def client(self, url: str) -> Redis:
        return self.clients.get(url) or self.clients.setdefault(url, connect(url))

    async def observers(self, drop: str, regions: tuple[str, ...]) -> dict[str, Observed]:
        """The drop's observers in each of ``regions``; a region that cannot be read says why."""
        found = await asyncio.gather(*(self._observed(drop, r) for r in regions))
        return dict(zip(regions, found, strict=True))

    async def _observed(self, drop: str, region: str) -> Observed:
        try:
            return Observed(await read_observers(self.client(await self.url(region)), drop))
        except NoRedisError as exc:
            return Observed(error=str(exc))
        except RedisUrlError as exc:
            return Observed(error=f"bad Redis URL: {exc}")
        except (RedisError, OSError) as exc:
            return Observed(error=f"Redis unreachable ({type(exc).__name__})")

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()


async def scrape(http: httpx.AsyncClient, base_url: str, metric: str) -> Scrape:
    url = base_url.rstrip("/") + "/metrics"
    try:
        response = await http.get(url, timeout=SCRAPE_TIMEOUT_S)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        return Scrape(error=f"unreachable ({type(exc).__name__})")
    value = metric_total(response.text, metric)
    return Scrape(value) if value is not None else Scrape(error=f"no {metric}")


def connect(url: str) -> Redis:
    return redis_client.connect(
        url, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S
    )


async def redis_reading(
    clients: dict[str, Redis], url: str, drop_id: str
) -> tuple[Reading | None, str | None]:
    """The drop in the Redis at ``url`` (clients are kept by URL), or why it could not be read."""
    try:
        client = clients.get(url) or clients.setdefault(url, connect(url))
        return await read_redis(client, drop_id), None
    except RedisUrlError as exc:
        return None, f"bad Redis URL: {exc}"
    except (RedisError, OSError) as exc:
        return None, f"Redis unreachable ({type(exc).__name__})"


class Gatherer:
    """Reads one drop's :class:`Readings`, again and again, over the same connections."""

    def __init__(
        self,
        hub: Hub,
        name: str,
        namespace: str,
        *,
        audit_writers: Mapping[str, str],
        regions: tuple[str, ...] = (),
    ) -> None:
        self.hub, self.name, self.namespace = hub, name, namespace
        self.audit_writers = dict(audit_writers)
        self.all_regions = regions
        self.regions = RegionReader(hub)
        self.http = httpx.AsyncClient()

    async def read(self) -> Readings:
        """One refresh; raises the hub's errors (unknown drop, hub unreachable)."""
        obj: dict[str, Any] = await asyncio.to_thread(self.hub.get_drop, self.name, self.namespace)
        info = DropInfo.of(obj)
        lags = {n: scrape(self.http, u, AUDIT_LAG_METRIC) for n, u in self.audit_writers.items()}
        scraped, observers, (reading, error) = await asyncio.gather(
            asyncio.gather(*lags.values()),
            self.regions.observers(self.name, participating(info, self.all_regions)),
            self._redis(info.home),
        )
        return Readings(
            drop=info,
            redis=reading,
            redis_error=error,
            observers=observers,
            audit_lag=dict(zip(lags, scraped, strict=True)),
        )

    async def _redis(self, home: str) -> tuple[Reading | None, str | None]:
        try:
            url = await self.regions.url(home)
        except NoRedisError as exc:
            return None, str(exc)
        reading, error = await redis_reading(self.regions.clients, url, self.name)
        if reading is None and error is None:
            error = f"not opened in {home}'s Redis yet"
        return reading, error

    async def close(self) -> None:
        await self.http.aclose()
        await self.regions.close()


async def list_readings(
    hub: Hub, drops: list[dict[str, Any]]
) -> list[tuple[Reading | None, str | None]]:
    """Each drop's state in its home Redis, for ``gavel drops list``."""
    clients: dict[str, Redis] = {}
    urls: dict[str, str | NoRedisError] = {}
    found: list[tuple[Reading | None, str | None]] = []
    try:
        for obj in drops:
            home = obj["spec"]["homeRegion"]
            if home not in urls:
                try:
                    urls[home] = await asyncio.to_thread(redis_url_of, hub, home)
                except NoRedisError as exc:
                    urls[home] = exc
            url = urls[home]
            if isinstance(url, NoRedisError):
                found.append((None, f"no Redis for {home}"))
                continue
            found.append(await redis_reading(clients, url, obj["metadata"]["name"]))
    finally:
        for client in clients.values():
            await client.aclose()
    return found
