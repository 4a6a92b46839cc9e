"""Run relays against the real stack, in-process or as ``gavel relay`` processes, and feed them.

Relay tests use their own logical Redis database (:data:`RELAY_TEST_DB`) of the shared Redis:
a relay drains every drop listed in its database's drop index, and other suites (the gateway's,
the bidding tests) read their streams in database 0 while they run.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from gavel import auction, bidding, kafka_auth, keys, redis_client, topics
from gavel import redis_url as gavel_redis_url
from gavel.auction import Decision, Outcome, Reason
from gavel.events import BidEvent
from gavel.relay import RelaySettings, run
from gavel_devstack.harness.kafka import KafkaTail
from gavel_devstack.harness.processes import free_port, start_logged
from gavel_devstack.harness.stack_env import stack_kafka_auth

RELAY_TEST_DB = 7
UNLIMITED = auction.RateLimit(burst=1_000_000, per_second=1_000_000)
GAVEL = Path(sys.executable).with_name("gavel")


def with_db(redis_url: str, db: int) -> str:
    """``redis_url`` pointing at logical database ``db`` (a single server or a Sentinel URL)."""
    address = gavel_redis_url.parse(redis_url)
    if isinstance(address, gavel_redis_url.SentinelService):
        url = gavel_redis_url.sentinel_url(list(address.sentinels), address.service, db)
        if address.username is None or address.password is None:
            return url
        return gavel_redis_url.with_credentials(url, address.username, address.password)
    parts = urlsplit(redis_url)
    return urlunsplit(parts._replace(path=f"/{db}"))


def relay_settings(redis_url: str, kafka: str, **overrides: object) -> RelaySettings:
    """Settings for a relay in a test: a free port, quick timers."""
    base = RelaySettings(
        region="us",
        redis_url=redis_url,
        kafka_bootstrap=kafka,
        kafka_auth=stack_kafka_auth(kafka_auth.RELAY),
        port=free_port(),
        consumer=f"test-{uuid.uuid4().hex[:8]}",
        block_ms=100,
        claim_interval_s=0.2,
        outbox_interval_s=0.2,
        gauges_interval_s=0.2,
    )
    return replace(base, **overrides)


@contextlib.asynccontextmanager
async def running_relay(settings: RelaySettings) -> AsyncIterator[asyncio.Task[None]]:
    """Run a relay in this event loop; stop it gracefully at the end (and surface its crash)."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop=stop))
    try:
        deadline = time.monotonic() + 10
        while True:  # serving HTTP: the relay has started
            if task.done():
                task.result()  # raises what it crashed with
                raise AssertionError("the relay returned before it served HTTP")
            try:
                await http_get(settings.port, "/healthz")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.02)
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def http_get(port: int, path: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"http://127.0.0.1:{port}{path}", timeout=5)


async def metric(port: int, name: str, **labels: str) -> float:
    """The value of one sample on the relay's /metrics (0 if it has none yet)."""
    text = (await http_get(port, "/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def metric_above(
    port: int, name: str, value: float, **labels: str
) -> Callable[[], Awaitable[bool]]:
    """A check for :func:`wait_for`: the sample ``name`` on /metrics is above ``value``."""

    async def check() -> bool:
        return await metric(port, name, **labels) > value

    return check


async def create_group(redis: Redis, stream: str) -> None:
    """Create the relay group on ``stream`` as the relay does (from 0, idempotently)."""
    try:
        await redis.xgroup_create(stream, keys.RELAY_GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def edge_event(drop: str, n: int, outcome: Outcome = Outcome.REJECTED) -> BidEvent:
    """An attempt as the gateway writes it to its disk outbox (decided at the edge); an
    accepted one has the figures only place_bid.lua could have decided."""
    now = int(time.time() * 1000)
    decision = Decision.edge(Reason.UNAVAILABLE, now)
    if outcome is Outcome.ACCEPTED:
        decision = replace(
            decision,
            outcome=outcome,
            reason=Reason.ACCEPTED,
            seq=1,
            high_bid=1_000 + n,
            leader=f"bidder-{n}",
            min_next=1_100 + n,
            ends_at_ms=now + 600_000,
        )
    return BidEvent(
        event_id=str(uuid.uuid4()),
        drop=drop,
        bidder=f"bidder-{n}",
        bid_id=f"bid-{n}",
        amount=1_000 + n,
        received_ms=now,
        region="us",
        decision=decision,
    )


@dataclass
class Placed:
    """Attempts placed by a test: every event id, and those accepted."""

    all: set[str]
    accepted: set[str]


def delivered(placed: Placed) -> Callable[[KafkaTail], bool]:
    """For :meth:`KafkaTail.until`: every attempt in ``gavel.audit`` and every accepted one in
    ``gavel.price``."""

    def check(tail: KafkaTail) -> bool:
        audit, price = set(tail.event_ids(topics.AUDIT)), set(tail.event_ids(topics.PRICE))
        return audit >= placed.all and price >= placed.accepted

    return check


async def place_attempts(
    redis_url: str,
    drop_ids: Sequence[str],
    per_drop: int,
    *,
    first: int = 0,
    concurrency: int = 16,
) -> Placed:
    """Place ``per_drop`` attempts on each drop, numbered from ``first`` (continue a drop with
    ``first`` = the attempts placed so far): pairs at the same amount, so about half are
    accepted and half rejected (below the minimum)."""
    placed = Placed(set(), set())
    jobs = [(d, i) for i in range(first, first + per_drop) for d in drop_ids]

    async def worker(n: int) -> None:
        client = redis_client.connect(redis_url)
        try:
            for drop_id, i in jobs[n::concurrency]:
                event_id = str(uuid.uuid4())
                result = await bidding.place_bid(
                    client,
                    bidding.bid_call(
                        drop_id,
                        f"bidder-{i % 7}",
                        f"bid-{i}",
                        1_000 + 100 * (i // 2),
                        event_id=event_id,
                        received_ms=int(time.time() * 1000),
                        region="us",
                        limit=UNLIMITED,
                    ),
                )
                assert not result.duplicate
                placed.all.add(event_id)
                if result.decision.outcome is Outcome.ACCEPTED:
                    placed.accepted.add(event_id)
        finally:
            await client.aclose()

    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return placed


async def stream_state(redis: Redis, drop_ids: Sequence[str]) -> tuple[int, int]:
    """(entries left in the drops' streams, entries pending in the relay group)."""
    length = pending = 0
    for drop_id in drop_ids:
        stream = keys.for_drop(drop_id).events
        length += await redis.xlen(stream)
        with contextlib.suppress(Exception):  # no group yet: nothing pending
            pending += (await redis.xpending(stream, keys.RELAY_GROUP))["pending"]
    return length, pending


async def drained(redis: Redis, drop_ids: Sequence[str]) -> bool:
    return await stream_state(redis, drop_ids) == (0, 0)


def relay_process(
    settings: RelaySettings, log_path: Path, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``gavel relay`` with ``settings``' endpoints, port, outbox and claim threshold."""
    args = [
        str(GAVEL),
        "relay",
        "--region",
        settings.region,
        "--port",
        str(settings.port),
        "--redis-url",
        settings.redis_url,
        "--kafka-bootstrap",
        settings.kafka_bootstrap,
        "--claim-idle-ms",
        str(settings.claim_idle_ms),
    ]
    if settings.outbox_dir is not None:
        args += ["--outbox-dir", str(settings.outbox_dir)]
    # Its Kafka credential is the settings', whatever this process's environment holds.
    env = kafka_auth.to_env(kafka_auth.RELAY, settings.kafka_auth) | (extra_env or {})
    return start_logged(args, log_path, env)
