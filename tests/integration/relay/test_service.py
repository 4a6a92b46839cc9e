"""The relay against the real Redis and Kafka of the shared stack, run in this event loop."""

from __future__ import annotations

import json
from typing import cast

from redis.asyncio import Redis

from gavel import keys, topics
from gavel.events import BidEvent, PriceEvent
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.kafka import KafkaTail
from gavel_devstack.harness.processes import free_port
from gavel_devstack.harness.relay import (
    create_group,
    drained,
    http_get,
    metric,
    place_attempts,
    relay_settings,
    running_relay,
    stream_state,
)
from gavel_devstack.harness.waiting import wait_for


def arrived(placed_all: set[str], accepted: set[str]) -> object:
    def done(tail: KafkaTail) -> bool:
        return (
            set(tail.event_ids(topics.AUDIT)) >= placed_all
            and set(tail.event_ids(topics.PRICE)) >= accepted
        )

    return done


async def test_every_attempt_reaches_audit_and_accepted_ones_price(
    redis: Redis, redis_url: str, kafka: str
) -> None:
    drops = [(await open_test_drop(redis)).drop_id for _ in range(3)]
    late = (await open_test_drop(redis)).drop_id  # its first bids come after the relay started
    every = [*drops, late]
    async with KafkaTail(
        kafka, (topics.AUDIT, topics.PRICE), keys={d.encode() for d in every}
    ) as tail:
        before = await place_attempts(redis_url, drops, per_drop=40)
        assert before.accepted, "no accepted attempt to relay"
        assert before.all - before.accepted, "no rejected attempt to relay"
        settings = relay_settings(redis_url, kafka)
        async with running_relay(settings):
            during = await place_attempts(redis_url, every, per_drop=20, first=40)
            placed_all, accepted = before.all | during.all, before.accepted | during.accepted
            await tail.until(arrived(placed_all, accepted), 30, "every attempt in Kafka")
            await wait_for(lambda: drained(redis, every), 10, "streams acknowledged and deleted")

            assert (await http_get(settings.port, "/healthz")).status_code == 200
            assert (await http_get(settings.port, "/readyz")).status_code == 200
            assert (await http_get(settings.port, "/nope")).status_code == 404
            # Other test drops in the relay database may have been relayed too: at least ours.
            audited = await metric(settings.port, "gavel_relay_records_total", topic=topics.AUDIT)
            assert audited >= len(placed_all)

            async def backlog_empty() -> bool:  # the gauge refreshes on its own timer
                return await metric(settings.port, "gavel_relay_backlog_entries") == 0

            await wait_for(backlog_empty, 5, "the backlog gauge at 0")

    # Exactly once here (no failure happened), keyed by drop, payloads as the stream had them.
    audit = [s for s in tail.seen if s.topic == topics.AUDIT]
    price = [s for s in tail.seen if s.topic == topics.PRICE]
    assert sorted(s.event_id for s in audit) == sorted(placed_all)
    assert sorted(s.event_id for s in price) == sorted(accepted)
    for s in audit:
        event = BidEvent.from_json(json.dumps(s.value).encode())
        assert s.key == event.drop.encode()
    for drop_id in every:
        # One drop's records share a partition and keep the stream's order: prices only rise.
        seqs = [
            PriceEvent.from_json(json.dumps(s.value).encode()).decision.seq
            for s in price
            if s.key == drop_id.encode()
        ]
        assert seqs == sorted(seqs)
        assert len(seqs) == len(set(seqs))


async def test_entries_of_a_dead_consumer_are_claimed(
    redis: Redis, redis_url: str, kafka: str
) -> None:
    drop_id = (await open_test_drop(redis)).drop_id
    stream = keys.for_drop(drop_id).events
    placed = await place_attempts(redis_url, [drop_id], per_drop=30)
    await create_group(redis, stream)
    # A relay that read everything and died before Kafka acknowledged: all 30 stay pending.
    got = await redis.xreadgroup(keys.RELAY_GROUP, "ghost", {stream: ">"}, count=1_000)
    assert len(got[0][1]) == 30
    async with KafkaTail(kafka, (topics.AUDIT, topics.PRICE), keys={drop_id.encode()}) as tail:
        settings = relay_settings(redis_url, kafka, claim_idle_ms=300)
        async with running_relay(settings):
            await tail.until(arrived(placed.all, placed.accepted), 30, "claimed attempts")
            await wait_for(lambda: drained(redis, [drop_id]), 10, "stream drained")
            assert await metric(settings.port, "gavel_relay_entries_total", source="claimed") >= 30


async def test_a_restart_under_the_same_name_relays_its_own_pending_entries(
    redis: Redis, redis_url: str, kafka: str
) -> None:
    drop_id = (await open_test_drop(redis)).drop_id
    stream = keys.for_drop(drop_id).events
    placed = await place_attempts(redis_url, [drop_id], per_drop=12)
    settings = relay_settings(redis_url, kafka, claim_idle_ms=600_000)  # claiming cannot help
    await create_group(redis, stream)
    got = await redis.xreadgroup(keys.RELAY_GROUP, settings.consumer, {stream: ">"}, count=1_000)
    # One of them was relayed and deleted, but its XACK was lost: pending without fields.
    gone_id, gone_fields = cast("tuple[bytes, dict[bytes, bytes]]", got[0][1][0])
    await redis.xdel(stream, gone_id)
    expected = placed.all - {gone_fields[b"event_id"].decode()}
    async with (
        KafkaTail(kafka, (topics.AUDIT,), keys={drop_id.encode()}) as tail,
        running_relay(settings),
    ):
        await tail.until(
            lambda t: set(t.event_ids(topics.AUDIT)) >= expected, 30, "recovered attempts"
        )
        await wait_for(lambda: drained(redis, [drop_id]), 10, "stream drained")
        assert await metric(settings.port, "gavel_relay_entries_total", source="recovered") >= 12
    assert sorted(tail.event_ids(topics.AUDIT)) == sorted(expected)


async def test_an_entry_that_does_not_parse_is_dead_lettered_and_does_not_block(
    redis: Redis, redis_url: str, kafka: str
) -> None:
    drop_id = (await open_test_drop(redis)).drop_id
    stream = keys.for_drop(drop_id).events
    await redis.xadd(stream, {"event_id": "broken-1", "outcome": "maybe"})
    placed = await place_attempts(redis_url, [drop_id], per_drop=4)
    topic_set = (topics.AUDIT, topics.AUDIT_DEAD_LETTER)
    async with KafkaTail(kafka, topic_set, keys={drop_id.encode()}) as tail:
        settings = relay_settings(redis_url, kafka)
        async with running_relay(settings):
            await tail.until(
                lambda t: (
                    bool(t.event_ids(topics.AUDIT_DEAD_LETTER))
                    and set(t.event_ids(topics.AUDIT)) >= placed.all
                ),
                30,
                "dead letter and the valid attempts",
            )
            await wait_for(lambda: drained(redis, [drop_id]), 10, "stream drained")
    (dead,) = [s for s in tail.seen if s.topic == topics.AUDIT_DEAD_LETTER]
    assert dead.value["source"] == "stream"
    assert dead.value["payload"]["fields"] == {"event_id": "broken-1", "outcome": "maybe"}
    assert dead.value["reason"]


async def test_without_kafka_or_redis_it_waits_and_says_it_is_not_ready(
    redis: Redis, redis_url: str, kafka: str
) -> None:
    drop_id = (await open_test_drop(redis)).drop_id
    await place_attempts(redis_url, [drop_id], per_drop=6)
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens there
    no_kafka = relay_settings(redis_url, nowhere)
    async with running_relay(no_kafka) as task:

        async def failing_to_start() -> bool:
            return (
                await metric(no_kafka.port, "gavel_relay_failures_total", stage="kafka_start") >= 2
            )

        await wait_for(failing_to_start, 15, "Kafka start retried with a backoff")
        ready = await http_get(no_kafka.port, "/readyz")
        assert (ready.status_code, ready.text) == (503, "not ready: kafka\n")
        assert (await http_get(no_kafka.port, "/healthz")).status_code == 200
        assert not task.done()
        assert (await stream_state(redis, [drop_id]))[0] == 6, "entries must wait in Redis"

    no_redis = relay_settings(f"redis://{nowhere}/0", kafka)
    async with running_relay(no_redis):

        async def redis_down_reported() -> bool:
            r = await http_get(no_redis.port, "/readyz")
            return r.status_code == 503 and "redis" in r.text

        await wait_for(redis_down_reported, 15, "Redis reported down")

    # A working relay then drains what waited.
    async with running_relay(relay_settings(redis_url, kafka)):
        await wait_for(lambda: drained(redis, [drop_id]), 30, "stream drained")
