"""The gateway's disk outbox, shipped by a relay to the shared stack's Kafka."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from redis.asyncio import Redis

from gavel import keys, outbox, topics
from gavel.auction import Outcome
from gavel_devstack.harness.drops import new_drop_id, open_test_drop
from gavel_devstack.harness.kafka import KafkaTail
from gavel_devstack.harness.relay import (
    edge_event,
    metric,
    place_attempts,
    relay_settings,
    running_relay,
)
from gavel_devstack.harness.waiting import wait_for


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


async def test_segments_are_shipped_then_deleted_and_a_torn_line_is_skipped(
    tmp_path: Path, redis_url: str, kafka: str
) -> None:
    folder = tmp_path / "outbox"
    drop = new_drop_id("outbox")
    writer = outbox.OutboxWriter(folder, "gw-1")
    first = [edge_event(drop, n) for n in range(20)] + [edge_event(drop, 20, Outcome.ACCEPTED)]
    for e in first:
        writer.append(e)
    closed = writer.close_segment()
    assert closed is not None
    # A segment whose writer crashed mid-line: five whole events, then half of a sixth.
    second = [edge_event(drop, n) for n in range(100, 105)]
    for e in second:
        writer.append(e)
    torn = writer.close_segment()
    assert torn is not None
    with torn.open("ab") as f:
        f.write(edge_event(drop, 105).to_json()[:40])
    # A dead writer's segment, never closed: the relay closes and ships it.
    orphan_events = [edge_event(drop, n) for n in range(200, 203)]
    orphan = folder / f"gw-2-{dead_pid()}-{int(time.time() * 1000)}-1{outbox.OPEN_SUFFIX}"
    orphan.write_bytes(b"".join(e.to_json() + b"\n" for e in orphan_events))
    os.utime(orphan, (time.time() - 60, time.time() - 60))
    # A live writer's open segment (this process): left alone.
    live = outbox.OutboxWriter(folder, "gw-3")
    live.append(edge_event(drop, 300))

    shipped = {e.event_id for e in first + second + orphan_events}
    settings = relay_settings(redis_url, kafka, outbox_dir=folder, outbox_reclaim_idle_s=1.0)
    async with (
        KafkaTail(kafka, (topics.AUDIT, topics.PRICE), keys={drop.encode()}) as tail,
        running_relay(settings),
    ):
        await tail.until(
            lambda t: (
                set(t.event_ids(topics.AUDIT)) >= shipped
                and first[-1].event_id in t.event_ids(topics.PRICE)
            ),
            30,
            "every whole line of every closed or orphaned segment",
        )

        async def only_the_live_segment_left() -> bool:
            return [p.name for p in folder.iterdir()] == [live_path.name]

        live_path = next(folder.glob(f"gw-3-*{outbox.OPEN_SUFFIX}"))
        await wait_for(only_the_live_segment_left, 10, "shipped segments deleted")
        assert await metric(settings.port, "gavel_relay_outbox_skipped_lines_total") == 1
        assert await metric(settings.port, "gavel_relay_entries_total", source="outbox") == len(
            shipped
        )
    assert sorted(tail.event_ids(topics.AUDIT)) == sorted(shipped)
    assert tail.event_ids(topics.PRICE) == [first[-1].event_id]
    live.close_segment()


async def test_a_shipper_without_streams_ships_the_outbox_and_leaves_the_streams_alone(
    tmp_path: Path, redis: Redis, redis_url: str, kafka: str
) -> None:
    """The sidecar of a gateway pod: its disk outbox goes to Kafka, while the region's drop
    streams stay for the region's one stream relay (per-drop order)."""
    folder = tmp_path / "outbox"
    edge_drop = new_drop_id("sidecar")
    writer = outbox.OutboxWriter(folder, "gw-1")
    events = [edge_event(edge_drop, n) for n in range(5)]
    for e in events:
        writer.append(e)
    assert writer.close_segment() is not None
    rules = await open_test_drop(redis)
    await place_attempts(redis_url, [rules.drop_id], 3)
    stream = keys.for_drop(rules.drop_id).events

    async def segments_gone() -> bool:
        return not list(folder.glob("*.jsonl"))

    settings = relay_settings(redis_url, kafka, outbox_dir=folder, streams=False)
    async with (
        KafkaTail(kafka, (topics.AUDIT,), keys={edge_drop.encode()}) as tail,
        running_relay(settings),
    ):
        await tail.until(
            lambda t: set(t.event_ids(topics.AUDIT)) >= {e.event_id for e in events},
            30,
            "the disk outbox in Kafka",
        )
        await wait_for(segments_gone, 10, "shipped segments deleted")
        assert await redis.xlen(stream) == 3
        groups = await redis.xinfo_groups(stream)
        assert not [g for g in groups if g["name"] == keys.RELAY_GROUP.encode()]
