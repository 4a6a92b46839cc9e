"""A ``gavel relay`` process killed with SIGKILL in the middle of a batch loses nothing."""

from __future__ import annotations

import collections
import signal
import socket
import time
from pathlib import Path

import httpx
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from gavel import keys, topics
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.kafka import KafkaTail
from gavel_devstack.harness.processes import stop_process
from gavel_devstack.harness.relay import (
    delivered,
    drained,
    place_attempts,
    relay_process,
    relay_settings,
)
from gavel_devstack.harness.waiting import wait_for

DROPS = 4
PER_DROP = 1_500


async def pending_by_consumer(redis: Redis, drop_ids: list[str]) -> dict[str, int]:
    counts: collections.Counter[str] = collections.Counter()
    for drop_id in drop_ids:
        try:
            summary = await redis.xpending(keys.for_drop(drop_id).events, keys.RELAY_GROUP)
        except ResponseError:  # NOGROUP: the relay has not created its group yet
            continue
        for c in summary["consumers"]:
            counts[c["name"].decode()] += int(c["pending"])
    return dict(counts)


async def test_sigkill_mid_batch_then_a_new_relay_delivers_everything(
    tmp_path: Path, redis: Redis, redis_url: str, kafka: str
) -> None:
    drop_ids = [(await open_test_drop(redis)).drop_id for _ in range(DROPS)]
    placed = await place_attempts(redis_url, drop_ids, per_drop=PER_DROP, concurrency=32)
    assert len(placed.all) == DROPS * PER_DROP
    settings = relay_settings(
        redis_url, kafka, claim_idle_ms=1_000, outbox_dir=tmp_path / "no-outbox"
    )
    async with KafkaTail(
        kafka, (topics.AUDIT, topics.PRICE), keys={d.encode() for d in drop_ids}
    ) as tail:
        first = relay_process(settings, tmp_path / "relay-1.log")
        victim = f"{socket.gethostname()}-{first.pid}"
        try:
            # Catch it holding a batch after some were relayed: stop it, look, then kill it.
            deadline = time.monotonic() + 60
            while True:
                assert first.poll() is None, (tmp_path / "relay-1.log").read_text()
                assert time.monotonic() < deadline, "never saw the relay holding a batch"
                await tail.poll(timeout_ms=5)
                some_relayed = len(tail.event_ids(topics.AUDIT)) >= len(placed.all) // 4
                if some_relayed and (await pending_by_consumer(redis, drop_ids)).get(victim, 0):
                    first.send_signal(signal.SIGSTOP)
                    held = (await pending_by_consumer(redis, drop_ids)).get(victim, 0)
                    if held > 0:
                        break
                    first.send_signal(signal.SIGCONT)
            first.send_signal(signal.SIGKILL)
            assert first.wait(timeout=10) == -signal.SIGKILL
        finally:
            stop_process(first, signal.SIGKILL)
        await tail.poll()
        relayed_before = len(set(tail.event_ids(topics.AUDIT)))

        second_settings = relay_settings(
            redis_url, kafka, claim_idle_ms=1_000, outbox_dir=tmp_path / "no-outbox"
        )
        second = relay_process(second_settings, tmp_path / "relay-2.log")
        try:
            await tail.until(
                delivered(placed),
                60,
                "every attempt after the crash",
            )
            await wait_for(lambda: drained(redis, drop_ids), 20, "streams drained")
            async with httpx.AsyncClient() as client:
                metrics = (
                    await client.get(f"http://127.0.0.1:{second_settings.port}/metrics")
                ).text
            claimed = [
                line
                for line in metrics.splitlines()
                if line.startswith('gavel_relay_entries_total{source="claimed"}')
            ]
            assert claimed
            assert float(claimed[0].split()[-1]) >= held
        finally:
            assert stop_process(second) == 0, (tmp_path / "relay-2.log").read_text()

    audit = collections.Counter(tail.event_ids(topics.AUDIT))
    assert set(audit) == placed.all  # none lost, none invented
    assert set(tail.event_ids(topics.PRICE)) == placed.accepted
    duplicates = sum(n - 1 for n in audit.values())
    assert duplicates <= held  # only what the dead relay held can have been sent twice
    print(  # shown with -s: how the crash went
        f"killed holding {held} entries after {relayed_before} events reached Kafka; "
        f"{duplicates} audit duplicates"
    )
