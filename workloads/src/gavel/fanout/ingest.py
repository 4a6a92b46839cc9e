"""Kafka -> hub: every price topic of the region, replayed at start, then followed.

Run by :mod:`gavel.fanout.server` as one task, until the server stops. A fan-out replica needs
*every* price event (each serves its own observers), so there is no consumer group: it assigns
itself every partition of ``gavel.price`` and each ``<region>.gavel.price`` copy that
MirrorMaker 2 made. At start it seeks ``replay_ms`` back and sets ``ready`` only once it has
caught up with the end offsets it saw then, so no observer is served an empty drop while bids
exist. Topics that appear later (a region joining) are picked up by a periodic refresh. Any
error restarts the consumer a second later (:func:`gavel.lifecycle.retrying.retry`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from gavel import kafka_clients, topics
from gavel.backoff import Fixed
from gavel.events import EventError, PriceEvent
from gavel.fanout import metrics
from gavel.fanout.hub import Hub
from gavel.fanout.settings import FanoutSettings
from gavel.lifecycle.retrying import Failure, StoppedError, retry

log = logging.getLogger(__name__)
REFRESH_S = 10.0
RESTART = Fixed(1.0)
"""After any error the consumer starts again a second later: there is no group to rejoin and
nothing to commit, and a replica without its ingest serves stale prices."""


async def follow(
    settings: FanoutSettings, hub: Hub, ready: asyncio.Event, stop: asyncio.Event
) -> None:
    """Follow the price topics until ``stop``; restarts the consumer after any error."""

    async def failed(failure: Failure) -> None:
        log.error("fan-out ingest failed; restarting in 1 s", exc_info=failure.error)

    with contextlib.suppress(StoppedError):
        await retry(
            lambda: _follow_once(settings, hub, ready),
            transient=(Exception,),
            delays=RESTART,
            stop=stop,
            on_failure=failed,
        )


async def _follow_once(settings: FanoutSettings, hub: Hub, ready: asyncio.Event) -> None:
    consumer = kafka_clients.make_consumer(
        bootstrap=settings.kafka_bootstrap,
        group_id=None,
        client_id=f"fanout-{settings.region}",
        auth=settings.kafka_auth,
    )
    await consumer.start()
    try:
        following = await _subscribe(consumer, settings, ())
        ends = await consumer.end_offsets(list(consumer.assignment()))
        next_refresh = time.monotonic() + REFRESH_S
        while True:
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            events = [e for records in batch.values() for r in records if (e := _event(r.value))]
            if events:
                # One call per batch: the hub skips what a newer price of its drop makes stale.
                hub.publish_batch(events, max_stale_ms=settings.max_stale_ms)
            if not ready.is_set() and await _caught_up(consumer, ends):
                ready.set()
                log.info("fan-out %s caught up: %d drops", settings.region, len(hub.feeds))
            if time.monotonic() > next_refresh:
                following = await _subscribe(consumer, settings, following)
                next_refresh = time.monotonic() + REFRESH_S
    finally:
        await consumer.stop()


def _event(raw: bytes | None) -> PriceEvent | None:
    if raw is None:
        return None
    try:
        return PriceEvent.from_json(raw)
    except EventError:
        metrics.EVENTS.labels("unparseable").inc()
        return None


async def _caught_up(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True


async def _subscribe(
    consumer: AIOKafkaConsumer, settings: FanoutSettings, following: tuple[str, ...]
) -> tuple[str, ...]:
    """Follow every price topic that exists now. Without a group, the consumer takes all their
    partitions; partitions it did not have start ``replay_ms`` back (older duplicates that a
    re-subscription replays are ignored by the feeds)."""
    existing = await consumer.topics()
    wanted = tuple(
        t for t in topics.price_topics(settings.region, settings.regions) if t in existing
    )
    if wanted == following:
        return following
    before = set(consumer.assignment())
    consumer.subscribe(topics=list(wanted))
    for _ in range(100):
        if {tp.topic for tp in consumer.assignment()} == set(wanted):
            break
        await asyncio.sleep(0.05)
    new = [tp for tp in consumer.assignment() if tp not in before]
    if new:
        since = int(time.time() * 1000) - settings.replay_ms
        starts = await consumer.offsets_for_times({tp: since for tp in new})
        for tp in new:
            found = starts.get(tp)
            if found is None:
                await consumer.seek_to_end(tp)
            else:
                consumer.seek(tp, found.offset)
    log.info("fan-out %s follows %s", settings.region, wanted)
    return wanted
