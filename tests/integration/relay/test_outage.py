"""Kafka goes down under a running relay and comes back: bidding goes on, nothing is lost.

Runs on a throwaway stack of its own (Redis + one Kafka broker in a temporary folder), because
it stops a broker: the shared stack's Kafka serves every other test.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis.asyncio import Redis

from gavel import kafka_auth, keys, outbox, redis_client, topics
from gavel.events import BidEvent
from gavel.relay import RelaySettings
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.kafka import KafkaTail
from gavel_devstack.harness.relay import (
    drained,
    edge_event,
    http_get,
    metric_above,
    place_attempts,
    relay_settings,
    running_relay,
    stream_state,
)
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import poll, wait_for
from gavel_devstack.stack import load_state
from tests.conftest import STACK


@dataclass(frozen=True)
class Throwaway:
    run_dir: Path
    redis_url: str
    kafka: str
    relay_auth: kafka_auth.KafkaAuth | None = None
    admin_auth: kafka_auth.KafkaAuth | None = None
    """The throwaway stack's own Kafka users (its run folder makes their passwords)."""

    def up(self) -> None:
        subprocess.run(
            [
                str(STACK),
                "up",
                "--regions",
                "1",
                "--only",
                "redis,kafka",
                "--dir",
                str(self.run_dir),
            ],
            check=True,
            capture_output=True,
        )

    def stop_kafka(self) -> None:
        """SIGTERM the broker (a clean shutdown, as in a rolling restart) and wait until it
        is gone."""
        state = load_state(self.run_dir)
        assert state is not None
        broker = state.running["kafka/us"]
        os.kill(broker.pid, signal.SIGTERM)
        poll(lambda: not broker.alive(), timeout_s=30, what="Kafka to stop", every_s=0.05)


@pytest.fixture
def throwaway(stack: Stack, tmp_path: Path) -> Iterator[Throwaway]:
    # `stack` only to be sure the tools are installed; this test never touches the shared one.
    run_dir = tmp_path / "stack"
    bare = Throwaway(run_dir, "", "")
    try:
        bare.up()
        env = subprocess.run(
            [str(STACK), "env", "--dir", str(run_dir)], check=True, capture_output=True, text=True
        ).stdout
        values = dict(
            line.removeprefix("export ").split("=", 1) for line in env.splitlines() if "=" in line
        )
        # The throwaway stack's administrator: this test sets drops up and checks the streams.
        yield Throwaway(
            run_dir,
            Stack(values).redis_url("us"),
            values["KAFKA_BOOTSTRAP_US"],
            kafka_auth.from_env(kafka_auth.RELAY, values),
            kafka_auth.from_env(kafka_auth.ADMIN, values),
        )
    finally:
        subprocess.run(
            [str(STACK), "down", "--purge", "--dir", str(run_dir)], check=False, capture_output=True
        )


@pytest.fixture
async def redis(throwaway: Throwaway) -> AsyncIterator[Redis]:
    client = redis_client.connect(throwaway.redis_url)
    yield client
    await client.aclose()


async def test_kafka_outage_then_everything_flows(
    throwaway: Throwaway, redis: Redis, tmp_path: Path
) -> None:
    folder = tmp_path / "outbox"
    drop_id = (await open_test_drop(redis)).drop_id
    url, kafka = throwaway.redis_url, throwaway.kafka
    auth = throwaway.relay_auth
    settings = relay_settings(url, kafka, outbox_dir=folder, claim_idle_ms=2_000, kafka_auth=auth)
    async with running_relay(settings) as relay:
        before = await place_attempts(url, [drop_id], per_drop=50)
        await wait_for(lambda: drained(redis, [drop_id]), 30, "relayed while Kafka is up")

        throwaway.stop_kafka()
        # Bidding goes on without Kafka: every attempt is decided and waits in Redis.
        during = await place_attempts(url, [drop_id], per_drop=200, first=50)
        assert len(during.all) == 200
        edge = write_segment(folder, drop_id)
        await wait_for(
            metric_above(settings.port, "gavel_relay_kafka_wait_seconds", 2.5),
            30,
            "a batch waiting for Kafka",
        )
        length, pending = await stream_state(redis, [drop_id])
        assert length == 200, "an entry left Redis although Kafka never acknowledged it"
        assert pending > 0, "the batch in flight must stay pending"
        assert list(folder.glob(f"*{outbox.CLOSED_SUFFIX}")), "segment shipped without Kafka"
        assert not relay.done()
        assert (await http_get(settings.port, "/healthz")).status_code == 200

        # A relay that starts while Kafka is down retries with a backoff and is not ready.
        late = relay_settings(url, kafka, outbox_dir=None, kafka_auth=auth)
        async with running_relay(late) as late_relay:
            await wait_for(
                metric_above(late.port, "gavel_relay_failures_total", 0.5, stage="kafka_start"),
                30,
                "the late relay failing to reach Kafka",
            )
            assert (await http_get(late.port, "/readyz")).status_code == 503
            await assert_kept_fresh(redis, settings, drop_id)

            await asyncio.to_thread(throwaway.up)  # restarts the broker, same data

            await wait_for(lambda: drained(redis, [drop_id]), 60, "drained after Kafka is back")
            await wait_for(lambda: _empty(folder), 30, "disk segment shipped after Kafka is back")
            await wait_for(lambda: _ready(late.port), 30, "the late relay ready")
            assert not late_relay.done()

    expected = before.all | during.all | {e.event_id for e in edge}
    await assert_all_in_kafka(
        kafka, expected, before.accepted | during.accepted, throwaway.admin_auth
    )


def write_segment(folder: Path, drop_id: str) -> list[BidEvent]:
    """A closed disk-outbox segment of ten edge-decided attempts, as a gateway leaves it."""
    writer = outbox.OutboxWriter(folder, "gw-1")
    edge = [edge_event(drop_id, n) for n in range(10)]
    for e in edge:
        writer.append(e)
    assert writer.close_segment() is not None
    return edge


async def assert_kept_fresh(redis: Redis, settings: RelaySettings, drop_id: str) -> None:
    """Past the claim threshold, the waiting relay's entries are still fresh (kept alive), so
    no other relay would claim them from a live one."""
    await wait_for(
        metric_above(
            settings.port, "gavel_relay_kafka_wait_seconds", settings.claim_idle_ms / 1000 + 0.5
        ),
        30,
        "a wait past the claim threshold",
    )
    stream = keys.for_drop(drop_id).events
    held = await redis.xpending_range(stream, keys.RELAY_GROUP, "-", "+", 1_000)
    assert held
    assert {h["consumer"].decode() for h in held} == {settings.consumer}
    assert max(int(h["time_since_delivered"]) for h in held) < settings.claim_idle_ms


async def assert_all_in_kafka(
    kafka: str, expected: set[str], accepted: set[str], auth: kafka_auth.KafkaAuth | None
) -> None:
    async with KafkaTail(kafka, (topics.AUDIT, topics.PRICE), from_end=False, auth=auth) as tail:
        await tail.until(
            lambda t: (
                set(t.event_ids(topics.AUDIT)) >= expected
                and set(t.event_ids(topics.PRICE)) >= accepted
            ),
            30,
            "every attempt, from before, during and after the outage",
        )
    assert set(tail.event_ids(topics.AUDIT)) == expected
    assert set(tail.event_ids(topics.PRICE)) == accepted


async def _empty(folder: Path) -> bool:
    return not await asyncio.to_thread(lambda: any(folder.iterdir()))


async def _ready(port: int) -> bool:
    return (await http_get(port, "/readyz")).status_code == 200
