"""The one way to get a Redis client for a region: it follows the primary through failovers.

Used by the gateway, the relay, ``gavel drops open``, the operator's auctions adapter, and the
dev stack's harness, so every one of them reads ``REDIS_URL_<REGION>`` the same way
(:mod:`gavel.redis_url`). A single-server URL gives a plain client. A Sentinel URL gives a
client whose connections ask the Sentinels for the current primary each time they (re)connect:
after a failover, a connection to the old primary fails (refused, timed out, or ``READONLY``
once it was turned into a replica), redis-py drops it, and the next command connects to the
new primary. No restart, no extra code in the callers: their existing retries on connection
errors are the reconnect.

TLS follows the URL: a ``rediss://`` server is reached over TLS, trusting the CA in
``REDIS_CA_FILE`` (:mod:`gavel.endpoints`) when it is set, else the system's trust store; the
host name is always checked. Sentinel URLs have no TLS form yet (docs/security.md, "TLS").
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.connection import parse_url
from redis.asyncio.sentinel import Sentinel

from gavel import endpoints, redis_url

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


def _login(address: redis_url.SentinelService) -> dict[str, Any]:
    """The same ACL user logs in to the Sentinels and to the data nodes (gavel.redis_acl)."""
    if address.username is None or address.password is None:
        return {}
    return {"username": address.username, "password": address.password}


def _sentinels(address: redis_url.SentinelService) -> Sentinel:
    return Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        list(address.sentinels),
        sentinel_kwargs={
            "socket_timeout": _SENTINEL_TIMEOUT_S,
            "socket_connect_timeout": _SENTINEL_TIMEOUT_S,
            **_login(address),
        },
    )


def ca_file(env: Mapping[str, str] | None = None) -> str | None:
    """The CA that signed ``rediss://`` servers' certificates (``REDIS_CA_FILE``), if set."""
    return (os.environ if env is None else env).get(endpoints.REDIS_CA_FILE) or None


def tls_options(url: str, ca: str | None) -> dict[str, Any]:
    """redis-py connection options for ``url``'s transport: none for ``redis://``; for
    ``rediss://`` a verified certificate and host name, trusting only ``ca`` when given."""
    if not url.startswith("rediss://"):
        return {}
    options: dict[str, Any] = {"ssl_cert_reqs": "required", "ssl_check_hostname": True}
    if ca:
        options["ssl_ca_certs"] = ca
    return options


def ssl_context(ca: str | None) -> ssl.SSLContext:
    """The context of a raw TLS connection (:class:`PrimaryLocator`'s users): the same trust
    as :func:`tls_options`."""
    return ssl.create_default_context(cafile=ca)


def connect(url: str, **kwargs: Any) -> Redis:
    """A client of the Redis at ``url`` (``redis://`` or ``redis+sentinel://``).

    ``kwargs`` are redis-py connection options (``socket_timeout``...), applied to the
    connections to the primary. Raises :class:`gavel.redis_url.RedisUrlError` for a bad URL.
    """
    address = redis_url.parse(url)
    if isinstance(address, redis_url.SingleServer):
        return Redis.from_url(address.url, **tls_options(address.url, ca_file()), **kwargs)
    sentinels = _sentinels(address)
    login = _login(address)
    client = cast(
        "_PrimaryOfService",
        sentinels.master_for(
            address.service, redis_class=_PrimaryOfService, db=address.db, **login, **kwargs
        ),
    )
    client.sentinels = sentinels
    return client


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a region's primary is now, and how to log in: for a raw connection of our own."""

    host: str
    port: int
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    """The CA a TLS connection trusts (None: the system's trust store)."""


class PrimaryLocator:
    """Finds a region's current primary each time it is called (after a failover, the new one).

    For code that speaks RESP on its own connection (:mod:`gavel.gateway.redis_pipe`) and so
    cannot use redis-py's Sentinel-managed connections.
    """

    def __init__(self, url: str) -> None:
        address = redis_url.parse(url)
        self._fixed: Endpoint | None = None
        self._sentinels: Sentinel | None = None
        self._service = ""
        self._db = 0
        self._username: str | None = None
        self._password: str | None = None
        if isinstance(address, redis_url.SingleServer):
            kw = parse_url(address.url)
            self._fixed = Endpoint(
                host=str(kw.get("host", "localhost")),
                port=int(kw.get("port", 6379)),
                db=int(kw.get("db", 0)),
                username=kw.get("username"),
                password=kw.get("password"),
                tls=address.url.startswith("rediss://"),
                ca_file=ca_file(),
            )
        else:
            self._sentinels = _sentinels(address)
            self._service, self._db = address.service, address.db
            self._username, self._password = address.username, address.password

    async def __call__(self) -> Endpoint:
        if self._fixed is not None:
            return self._fixed
        assert self._sentinels is not None
        host, port = await self._sentinels.discover_master(self._service)
        return Endpoint(
            host=str(host),
            port=int(port),
            db=self._db,
            username=self._username,
            password=self._password,
        )

    async def aclose(self) -> None:
        if self._sentinels is not None:
            await self._sentinels.aclose()
