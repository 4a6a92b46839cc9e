"""A region's Redis address: one URL, a single server or a Sentinel-monitored primary.

Pure. Read by :mod:`gavel.redis_client` (the one factory every workload, the operator and the
CLI get their Redis clients from) and by the gateway's settings (whether replicas exist, so
whether a bid waits for one). The value travels in ``REDIS_URL_<REGION>``
(:mod:`gavel.endpoints`) and in a Region's ``spec.endpoints.redisUrl``:

- ``redis://host:port/db`` (or ``rediss://``): one server, used as is;
- ``redis+sentinel://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]/SERVICE[/DB]``: ask those
  Sentinels which server is the primary of ``SERVICE`` now, and again after every failover.
  The credentials, when given, log in to the Sentinels and to the data nodes alike (the ACL
  users of :mod:`gavel.redis_acl` exist on both).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

SENTINEL_SCHEME = "redis+sentinel"
_SINGLE_SCHEMES = ("redis", "rediss", "unix")
_SERVICE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:]+\]$")


class RedisUrlError(ValueError):
    """The URL is neither a single-server nor a Sentinel URL; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class SingleServer:
    """One Redis server, addressed by a URL redis-py understands."""

    url: str


@dataclass(frozen=True, slots=True)
class SentinelService:
    """The primary of ``service`` as the listed Sentinels know it."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None


RedisAddress = SingleServer | SentinelService


def _port(text: str, url: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise RedisUrlError(f"bad port {text!r} in Redis URL {url!r}")
    return int(text)


def _sentinel(url: str, rest: str) -> SentinelService:
    userinfo, at, rest = rest.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        if not colon or not user:
            raise RedisUrlError("bad credentials in a Sentinel URL: expected USER:PASSWORD@")
        username, password = unquote(user), unquote(secret)
    hosts, _, path = rest.partition("/")
    if not hosts:
        raise RedisUrlError(f"no Sentinel host in {url!r}: redis+sentinel://HOST:PORT,.../SERVICE")
    sentinels = []
    for item in hosts.split(","):
        host, sep, port = item.rpartition(":")
        if not sep or not _HOST.match(host):
            raise RedisUrlError(f"bad Sentinel address {item!r} in {url!r}: expected HOST:PORT")
        sentinels.append((host.strip("[]"), _port(port, url)))
    parts = path.split("/") if path else []
    if not parts or not _SERVICE.match(parts[0]):
        raise RedisUrlError(f"no valid service name in {url!r}: redis+sentinel://.../SERVICE[/DB]")
    if len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
        raise RedisUrlError(f"bad database in {url!r}: expected .../SERVICE or .../SERVICE/DB")
    db = int(parts[1]) if len(parts) == 2 else 0
    return SentinelService(tuple(sentinels), parts[0], db, username, password)


def parse(url: str) -> RedisAddress:
    """Parse a region's Redis URL; raises :class:`RedisUrlError` with the reason (which never
    shows a password the URL carried)."""
    scheme, sep, rest = url.strip().partition("://")
    shown = without_credentials(url.strip())
    if not sep:
        raise RedisUrlError(f"not a URL: {shown!r} (expected redis://... or redis+sentinel://...)")
    if scheme == SENTINEL_SCHEME:
        return _sentinel(shown, rest)
    if scheme in _SINGLE_SCHEMES:
        return SingleServer(url.strip())
    raise RedisUrlError(
        f"unknown scheme {scheme!r} in {shown!r}: use redis://, rediss:// or redis+sentinel://"
    )


def has_replicas(url: str) -> bool:
    """Whether the address implies replicas (a Sentinel-monitored primary has at least one)."""
    return isinstance(parse(url), SentinelService)


def sentinel_url(sentinels: list[tuple[str, int]], service: str, db: int = 0) -> str:
    """The ``redis+sentinel://`` URL of ``service`` behind ``sentinels`` (the inverse of parse)."""
    hosts = ",".join(f"{h}:{p}" for h, p in sentinels)
    return f"{SENTINEL_SCHEME}://{hosts}/{service}/{db}"


def with_credentials(url: str, username: str, password: str) -> str:
    """``url`` logging in as ``username`` (replacing any credentials it carried).

    Validates ``url`` first; the credentials are percent-encoded, so any password fits.
    """
    parse(url)
    scheme, _, rest = url.strip().partition("://")
    if scheme == "unix":
        raise RedisUrlError(f"cannot put credentials in a unix socket URL {url!r}")
    authority, slash, path = rest.partition("/")
    authority = authority.rpartition("@")[2]
    userinfo = f"{quote(username, safe='')}:{quote(password, safe='')}"
    return f"{scheme}://{userinfo}@{authority}{slash}{path}"


def without_credentials(url: str) -> str:
    """``url`` with its password replaced by ``***``, for logs and error messages."""
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    userinfo, at, hosts = authority.rpartition("@")
    if not at:
        return url
    user = userinfo.partition(":")[0]
    return f"{scheme}{sep}{user}:***@{hosts}{slash}{path}"
