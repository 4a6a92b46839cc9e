"""How a region's Redis replicates and fails over: server flags, Sentinel's settings. Pure.

Used by the local stack (``gavel_devstack.components``) to start a region's primary, replicas
and Sentinels; the values are the ones a region runs with, so a failover test exercises the
same timings. Clients find the primary through :mod:`gavel.redis_client`.

Why these values:

- ``min-replicas-to-write 1`` / ``min-replicas-max-lag 2``: a primary that has heard from no
  replica for 2 s refuses writes (``NOREPLICAS``), so an old primary cut off from its
  replicas stops deciding bids about when Sentinel promotes a new one (1 s to notice + ~1-2 s
  to elect and promote), instead of running a second auction. Replicas acknowledge every
  second, so 2 s never trips on a healthy link. Every node carries the flags: any of them may
  become the primary.
- ``repl-diskless-sync-delay 0``: a replica that needs a full copy (a node back from a crash)
  gets it at once rather than 5 s later (Redis 7.0's default), which would keep a region with
  one live replica from accepting writes that long.
- Sentinel ``down-after-milliseconds`` 1000 and ``failover-timeout`` 5000: detection is the
  bulk of a failover; with 1 s a dead primary is replaced in about 2-3 s, inside the 5 s the
  issue allows. Sentinel's default (30 s) trades that for tolerance of long pauses, which
  loopback and a LAN inside a region do not have. The failover timeout bounds a failover that
  got stuck (a chosen replica that never turns primary) before Sentinels try another one.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_REPLICAS_TO_WRITE = 1
MIN_REPLICAS_MAX_LAG_S = 2

REDIS_REPLICATION_ARGS: tuple[str, ...] = (
    "--min-replicas-to-write",
    str(MIN_REPLICAS_TO_WRITE),
    "--min-replicas-max-lag",
    str(MIN_REPLICAS_MAX_LAG_S),
    "--repl-diskless-sync-delay",
    "0",
)

SENTINEL_QUORUM = 2
"""Of three Sentinels, two must agree the primary is down before a failover starts."""


@dataclass(frozen=True, slots=True)
class SentinelTimings:
    down_after_ms: int = 1000
    failover_timeout_ms: int = 5000


def service_name(region: str) -> str:
    """The Sentinel service (``master`` name) of ``region``'s Redis, e.g. ``gavel-us``."""
    return f"gavel-{region}"


def sentinel_config(
    *,
    port: int,
    bind: str,
    data_dir: str,
    service: str,
    primary: tuple[str, int],
    quorum: int = SENTINEL_QUORUM,
    timings: SentinelTimings | None = None,
) -> str:
    """A Sentinel's configuration file. Sentinel rewrites it as it learns, so it must be
    writable; this is the starting point."""
    t = timings or SentinelTimings()
    host, primary_port = primary
    return "\n".join(
        [
            f"port {port}",
            f"bind {bind}",
            "daemonize no",
            'logfile ""',
            f"dir {data_dir}",
            f"sentinel monitor {service} {host} {primary_port} {quorum}",
            f"sentinel down-after-milliseconds {service} {t.down_after_ms}",
            f"sentinel failover-timeout {service} {t.failover_timeout_ms}",
            f"sentinel parallel-syncs {service} 1",
            "",
        ]
    )
