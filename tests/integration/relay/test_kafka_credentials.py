"""A relay with a wrong Kafka password: it says so in its log and is not ready, and relays once
it gets the right one (its entries wait in Redis meanwhile)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
from redis.asyncio import Redis

from gavel import kafka_auth, topics
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.kafka import KafkaTail
from gavel_devstack.harness.processes import stop_process
from gavel_devstack.harness.relay import delivered, place_attempts, relay_process, relay_settings
from gavel_devstack.harness.waiting import poll


async def test_a_wrong_password_is_named_in_the_log_and_keeps_the_relay_unready(
    tmp_path: Path, redis: Redis, redis_url: str, kafka: str
) -> None:
    good = relay_settings(redis_url, kafka, outbox_dir=tmp_path / "no-outbox")
    assert good.kafka_auth is not None, "the stack runs Kafka without authentication"
    wrong = kafka_auth.KafkaAuth(good.kafka_auth.username, "not-the-password")
    bad = dataclasses.replace(good, kafka_auth=wrong)
    drop = (await open_test_drop(redis)).drop_id
    placed = await place_attempts(redis_url, [drop], per_drop=3, concurrency=1)

    log = tmp_path / "relay-wrong.log"
    proc = relay_process(bad, log)
    try:
        poll(
            lambda: "invalid credentials" in log.read_text(),
            timeout_s=60,
            what="the relay's log naming the refused credential",
        )
        text = log.read_text()
        assert f"as {wrong.username}" in text, text
        async with httpx.AsyncClient(timeout=5) as client:
            ready = await client.get(f"http://127.0.0.1:{bad.port}/readyz")
        assert ready.status_code == 503
        assert "kafka" in ready.text
    finally:
        stop_process(proc)

    # Nothing went out meanwhile: the attempts waited in Redis for the right password.
    async with KafkaTail(kafka, (topics.AUDIT, topics.PRICE), keys={drop.encode()}) as tail:
        proc = relay_process(good, tmp_path / "relay-good.log")
        try:
            await tail.until(delivered(placed), timeout_s=60, what="the waiting attempts")
        finally:
            stop_process(proc)
