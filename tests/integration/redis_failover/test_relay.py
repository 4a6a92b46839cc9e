"""The relay keeps draining the drop streams when their primary is killed mid-run.

Attempts placed and confirmed on every replica before the fault (so the failover may not lose
them), then a ``gavel relay`` process relaying them to Kafka while the primary is SIGKILLed: it
reconnects to the new primary through the Sentinels, resumes its consumer group there, and every
attempt reaches ``gavel.audit`` (each accepted one ``gavel.price``), none invented.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from gavel import bidding, redis_client, topics
from gavel_devstack import layout
from gavel_devstack.harness import redis_nodes
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.kafka import KafkaTail
from gavel_devstack.harness.processes import stop_process
from gavel_devstack.harness.relay import (
    RELAY_TEST_DB,
    delivered,
    drained,
    place_attempts,
    relay_process,
    relay_settings,
    with_db,
)
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import wait_for

HOME = "us"
DROPS = 2
PER_DROP = 1_500


@pytest.fixture
def region(stack: Stack) -> Iterator[str]:
    url = stack.redis_url(HOME)
    redis_nodes.restore(stack.run_dir, HOME, url)
    yield url
    redis_nodes.restore(stack.run_dir, HOME, url)


async def test_the_relay_resumes_on_the_new_primary_and_loses_nothing(
    stack: Stack, region: str, tmp_path: Path
) -> None:
    url = with_db(region, RELAY_TEST_DB)
    redis = redis_client.connect(url)
    try:
        drop_ids = [(await open_test_drop(redis)).drop_id for _ in range(DROPS)]
        placed = await place_attempts(url, drop_ids, per_drop=PER_DROP, concurrency=16)
        # What a gateway would have acknowledged: on every replica before the fault.
        acked = await bidding.confirm_replicated(
            redis, replicas=layout.REDIS_REPLICAS, timeout_ms=5_000
        )
        assert acked == layout.REDIS_REPLICAS
        kafka = stack.kafka(HOME)
        settings = relay_settings(url, kafka, outbox_dir=tmp_path / "no-outbox")
        async with KafkaTail(
            kafka, (topics.AUDIT, topics.PRICE), keys={d.encode() for d in drop_ids}
        ) as tail:
            relay = relay_process(settings, tmp_path / "relay.log")
            try:
                await tail.until(
                    lambda t: len(t.event_ids(topics.AUDIT)) >= len(placed.all) // 10,
                    60,
                    "the relay under way",
                )
                primary = redis_nodes.primary(stack.run_dir, HOME, region)
                redis_nodes.signal_node(primary, signal.SIGKILL)
                await tail.poll()
                before = len(set(tail.event_ids(topics.AUDIT)))
                await tail.until(
                    delivered(placed),
                    60,
                    "every attempt in Kafka after the failover",
                )
                await wait_for(lambda: drained(redis, drop_ids), 30, "streams drained")
                assert relay.poll() is None, "the relay must survive the failover"
            finally:
                assert stop_process(relay) == 0, (tmp_path / "relay.log").read_text()
        print(f"\nprimary killed after {before} of {len(placed.all)} attempts reached Kafka")
        assert before < len(placed.all), "the fault came too late to test anything"
        assert set(tail.event_ids(topics.AUDIT)) == placed.all  # none lost, none invented
        assert set(tail.event_ids(topics.PRICE)) == placed.accepted
    finally:
        await redis.aclose()
