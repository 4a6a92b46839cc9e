"""The privileged loader: every Lua script into every node of a region's Redis.

Called by ``gavel drops open`` (:mod:`gavel.drops`), ``gavel redis load-scripts`` and the
operator's drop sync, all logged in as the operator's ACL user, the only workload user with
``SCRIPT LOAD`` (:mod:`gavel.redis_acl`). Every node, not just the primary: Redis 7.0 does not
replicate ``SCRIPT LOAD`` and a restart empties a node's cache, and after a failover the
gateways run ``EVALSHA`` on a node that used to be a replica. The local stack does the same on
each node it (re)starts (``gavel_devstack.components``).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

from gavel import luascripts, redis_url

_TIMEOUT_S = 2.0


async def _load_into(node: Redis) -> None:
    try:
        for script in luascripts.all_scripts():
            await script.load(node)
    finally:
        await node.aclose()


async def load_everywhere(url: str) -> list[str]:
    """Load every script into the primary and every replica behind ``url``; returns the
    ``host:port`` of each node loaded. Raises ScriptNotLoadedError when the URL's user may
    not load scripts, a RedisError when a node does not answer."""
    address = redis_url.parse(url)
    if isinstance(address, redis_url.SingleServer):
        await _load_into(Redis.from_url(address.url, socket_timeout=_TIMEOUT_S))
        return [address.url.rpartition("@")[2]]
    login: dict[str, Any] = (
        {"username": address.username, "password": address.password}
        if address.password is not None
        else {}
    )
    sentinels = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        list(address.sentinels),
        sentinel_kwargs={"socket_timeout": _TIMEOUT_S, **login},
    )
    try:
        primary = await sentinels.discover_master(address.service)
        replicas = await sentinels.discover_slaves(address.service)
    finally:
        await sentinels.aclose()
    nodes = [primary, *replicas]
    for host, port in nodes:
        await _load_into(Redis(host=host, port=port, socket_timeout=_TIMEOUT_S, **login))
    return [f"{h}:{p}" for h, p in nodes]
