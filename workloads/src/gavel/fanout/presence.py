"""Records this process's observers of each drop in this region's Redis. I/O adapter.

Called by :mod:`gavel.fanout.server` every ``observers_interval_s`` with what
:meth:`gavel.fanout.observers.Tally.due` says, and once more when the process stops
(``leaving``: its entries go, the peak they made stays). ``lua/observers.lua`` does the
arithmetic atomically per drop (the hash layout is :mod:`gavel.observer_hash`'s): the region's
count is the sum over processes, and its peak only rises. It writes nothing for a drop this
region's Redis does not have, so a socket on a random name leaves no key, and a removed drop's
hash (deleted with its other keys) is not made again.

Also keeps ``gavel_fanout_drop_observers`` for the drops Redis confirmed. A Redis that does not
answer costs the reports of that interval (logged and counted), never a socket.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import replace

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

from gavel import keys, luascripts, redis_client
from gavel.fanout import metrics
from gavel.fanout.observers import Report

log = logging.getLogger(__name__)

TIMEOUT_S = 1.0
BATCH = 500
"""Reports per pipeline: sockets on thousands of names in one interval cost a few round trips,
not thousands of connections."""
TTL_INTERVALS = 3
"""An entry outlives its process's last report by this many intervals (a missed report or two
does not make the region's count dip)."""


def process_id() -> str:
    """This process among the region's fan-outs: the host name (a pod's name) and the pid. A
    container restarted in the same pod takes over its predecessor's entry, which is right:
    that process holds no sockets any more."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Presence:
    def __init__(self, redis_url: str, interval_s: float, process: str | None = None) -> None:
        self.redis: Redis = redis_client.connect(
            redis_url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
        )
        self.process = process or process_id()
        self.ttl_ms = int(interval_s * 1000 * TTL_INTERVALS)
        self.script = luascripts.script("observers")

    async def record(self, reports: Sequence[Report], *, leaving: bool = False) -> None:
        """Record every report, one pipeline (one round trip) per :data:`BATCH` drops.
        ``leaving``: this process stops, its sockets are gone; each entry it made is removed
        (a count of zero), its interval's peak still counts."""
        if leaving:
            reports = [replace(r, current=0) for r in reports]
        for start in range(0, len(reports), BATCH):
            batch = reports[start : start + BATCH]
            try:
                answers = await self._run(batch)
            except (RedisError, OSError, luascripts.ScriptNotLoadedError) as exc:
                metrics.OBSERVER_REPORTS.labels("error").inc(len(batch))
                log.warning("recording observers of %d drops failed: %s", len(batch), exc)
                continue
            for report, answer in zip(batch, answers, strict=True):
                if isinstance(answer, RedisError):
                    metrics.OBSERVER_REPORTS.labels("error").inc()
                    log.warning("recording observers of %s failed: %s", report.drop, answer)
                elif answer is None:
                    metrics.OBSERVER_REPORTS.labels("unknown_drop").inc()
                else:
                    metrics.OBSERVER_REPORTS.labels("ok").inc()
                    set_gauge(report)

    async def _run(self, batch: Sequence[Report]) -> list[object]:
        for _ in range(2):
            async with self.redis.pipeline(transaction=False) as pipe:
                for r in batch:
                    k = keys.for_drop(r.drop)
                    args = (self.process, r.current, r.interval_peak, self.ttl_ms)
                    pipe.evalsha(self.script.sha, 2, k.rules, k.observers, *args)
                answers: list[object] = await pipe.execute(raise_on_error=False)
            if not any(isinstance(a, NoScriptError) for a in answers):
                break
            # A restarted or new primary lacks the script; a report sent twice does no harm
            # (the same entry, a peak that only rises).
            await self.script.load(self.redis)
        return answers

    async def close(self) -> None:
        await self.redis.aclose()


def set_gauge(report: Report) -> None:
    """This process's sockets of a known drop; the series goes with its last socket."""
    if report.current:
        metrics.DROP_OBSERVERS.labels(report.drop).set(report.current)
    else:
        with contextlib.suppress(KeyError):  # never set: Redis had not confirmed it yet
            metrics.DROP_OBSERVERS.remove(report.drop)
