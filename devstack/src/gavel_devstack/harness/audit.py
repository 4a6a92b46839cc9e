"""Run audit writers against the real stack, feed them bid events, and read what they wrote.

Every test writer gets its own consumer group, positioned at the end of ``gavel.audit`` before
the test produces (:func:`group_at_end`), so it sees only what its test sends, not the shared
topic's history; rows go to a test keyspace, and each test uses fresh drop ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import httpx
from aiokafka import TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from gavel import cassandra_auth, kafka_auth, kafka_clients, topics
from gavel.auction import Decision, Outcome, Reason
from gavel.audit import reading, schema
from gavel.audit.rows import Attempt
from gavel.audit.service import run
from gavel.audit.settings import DEFAULT_GROUP, CassandraTarget, WriterSettings
from gavel.audit.store import AuditStore, connect
from gavel.events import BidEvent
from gavel_devstack.harness.processes import free_port, start_logged
from gavel_devstack.harness.stack_env import Stack, stack_kafka_auth

GAVEL = Path(sys.executable).with_name("gavel")
AUDIT_PARTITIONS = next(t.partitions for t in topics.LOCAL_TOPICS if t.name == topics.AUDIT)


def new_group() -> str:
    # Under the writers' group prefix, which the audit writer's Kafka user may join.
    return f"{DEFAULT_GROUP}-test-{uuid.uuid4().hex[:10]}"


def make_event(drop: str, i: int, *, base_ms: int, step_ms: int = 50) -> BidEvent:
    """Attempt number ``i`` of ``drop``: every third one rejected (below the minimum), decided
    ``step_ms`` apart from ``base_ms`` (so a long run spans several one-minute buckets)."""
    accepted = i % 3 != 2
    decided = base_ms + i * step_ms
    amount = 1_000 + 100 * i
    decision = Decision(
        outcome=Outcome.ACCEPTED if accepted else Outcome.REJECTED,
        reason=Reason.ACCEPTED if accepted else Reason.BELOW_MINIMUM,
        seq=i,
        high_bid=amount if accepted else amount - 100,
        leader=f"bidder-{i % 5}",
        prev_leader=None,
        min_next=amount + 100,
        ends_at_ms=base_ms + 3_600_000,
        reserve_met=amount >= 50_000,
        decided_ms=decided,
    )
    return BidEvent(
        event_id=str(uuid.uuid4()),
        drop=drop,
        bidder=f"bidder-{i % 5}",
        bid_id=f"bid-{i}",
        amount=amount,
        received_ms=decided - 2,
        region="us",
        decision=decision,
    )


def make_events(drop: str, count: int, *, base_ms: int | None = None) -> list[BidEvent]:
    base = base_ms if base_ms is not None else int(time.time() * 1000) - 3_600_000
    return [make_event(drop, i, base_ms=base) for i in range(count)]


async def produce(bootstrap: str, records: Iterable[tuple[bytes, bytes]]) -> int:
    """Send ``(key, value)`` records to gavel.audit with Gavel's idempotent producer."""
    # As the relay, the one producer of gavel.audit.
    relay = stack_kafka_auth(kafka_auth.RELAY)
    producer = kafka_clients.make_producer(bootstrap, "test-audit-producer", relay)
    await producer.start()
    sent = 0
    try:
        futures = []
        for key, value in records:
            futures.append(await producer.send(topics.AUDIT, value, key=key))
            sent += 1
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sent


async def produce_events(bootstrap: str, events: Sequence[BidEvent]) -> int:
    return await produce(bootstrap, ((e.drop.encode(), e.to_json()) for e in events))


def _partitions() -> list[TopicPartition]:
    return [TopicPartition(topics.AUDIT, p) for p in range(AUDIT_PARTITIONS)]


async def group_at_end(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    """Commit ``group``'s offsets at the current end of every gavel.audit partition."""
    consumer = kafka_clients.make_consumer(
        bootstrap=bootstrap,
        group_id=group,
        client_id="test-audit-positioner",
        auth=stack_kafka_auth(kafka_auth.ADMIN),
    )
    await consumer.start()
    try:
        consumer.assign(_partitions())
        ends = await consumer.end_offsets(_partitions())
        await consumer.commit(dict(ends))
        return dict(ends)
    finally:
        await consumer.stop()


async def committed(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    """The group's committed offsets (0 where none)."""
    consumer = kafka_clients.make_consumer(
        bootstrap=bootstrap,
        group_id=group,
        client_id="test-audit-reader",
        auth=stack_kafka_auth(kafka_auth.ADMIN),
    )
    await consumer.start()
    try:
        consumer.assign(_partitions())
        return {tp: (await consumer.committed(tp)) or 0 for tp in _partitions()}
    finally:
        await consumer.stop()


async def end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    consumer = kafka_clients.make_consumer(
        bootstrap=bootstrap,
        group_id=None,
        client_id="test-audit-ends",
        auth=stack_kafka_auth(kafka_auth.ADMIN),
    )
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(_partitions()))
    finally:
        await consumer.stop()


def target(
    stack: Stack, keyspace: str, port: int | None = None, role: str = cassandra_auth.WRITER
) -> CassandraTarget:
    """``keyspace`` as ``role`` reaches it (the writer's by default: what the tests' writers and
    their read-backs use)."""
    return stack.cassandra_target(role, keyspace, port)


def prepare_keyspace(stack: Stack, keyspace: str) -> schema.MigrationReport:
    """``keyspace`` with the audit schema and the writer and reader let in, made as the admin
    (``gavel audit migrate``'s steps): a test's writers start with ``migrate=False``, as they
    do in production, where the writer's role may not change the schema."""
    admin = target(stack, keyspace, role=cassandra_auth.ADMIN)
    cluster, session = connect(admin)
    try:
        report = schema.migrate(session, keyspace, {stack.cassandra_dc: 1})
        if admin.login is not None:
            schema.grant_clients(session, keyspace)
        return report
    finally:
        cluster.shutdown()


def drop_keyspace(stack: Stack, keyspace: str) -> None:
    """Remove a test's keyspace, as the admin that made it."""
    cluster, session = connect(target(stack, keyspace, role=cassandra_auth.ADMIN))
    try:
        session.execute(f"DROP KEYSPACE IF EXISTS {schema.check_name(keyspace)}")
    finally:
        cluster.shutdown()


def writer_settings(stack: Stack, keyspace: str, group: str, **overrides: object) -> WriterSettings:
    base = WriterSettings(
        region=stack.regions[0],
        kafka_bootstrap=stack.kafka(stack.regions[0]),
        kafka_auth=stack.kafka_auth(kafka_auth.AUDIT_WRITER),
        cassandra=target(stack, keyspace),
        migrate=False,
        port=free_port(),
        group_id=group,
        client_id=f"test-{group}",
        commit_interval_s=0.1,
        gauges_interval_s=0.2,
        durability_window_s=1.0,  # short, so tests commit soon; the code path is the same
    )
    return replace(base, **overrides)


@contextlib.asynccontextmanager
async def running_writer(settings: WriterSettings) -> AsyncIterator[asyncio.Task[None]]:
    """Run a writer in this event loop until ready; stop it gracefully at the end."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop=stop))
    try:
        await wait_ready(settings.port, 60, task=task)
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)


async def wait_ready(port: int, timeout_s: float, task: asyncio.Task[None] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if task is not None and task.done():
            task.result()
            raise AssertionError("the writer returned before it was ready")
        with contextlib.suppress(httpx.TransportError):
            if (await http_get(port, "/readyz")).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"writer on port {port} not ready within {timeout_s} s")
        await asyncio.sleep(0.05)


async def http_get(port: int, path: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"http://127.0.0.1:{port}{path}", timeout=10)


async def metric(port: int, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` (with ``labels``) on the writer's /metrics."""
    text = (await http_get(port, "/metrics")).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


async def trail(store: AuditStore, drop: str, **filters: object) -> list[Attempt]:
    """Every row of ``drop``, in time order, read page by page through the reader."""
    rows: list[Attempt] = []
    cursor = None
    f = reading.Filters(**filters)
    while True:
        page = await reading.read_page(store, drop, filters=f, cursor=cursor, limit=1000)
        rows.extend(page.attempts)
        if page.next_token is None:
            return rows
        cursor = reading.Cursor.from_token(page.next_token)


async def event_ids(store: AuditStore, drops: Iterable[str]) -> list[str]:
    """Event ids of every row of ``drops`` (with repeats, if a row were ever doubled)."""
    ids: list[str] = []
    for drop in drops:
        ids.extend(a.event.event_id for a in await trail(store, drop))
    return ids


def writer_process(
    settings: WriterSettings, log_path: Path, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``gavel audit-writer`` with ``settings``' endpoints, keyspace, group and port."""
    c = settings.cassandra
    args = [
        str(GAVEL),
        "audit-writer",
        "--region",
        settings.region,
        "--port",
        str(settings.port),
        "--kafka-bootstrap",
        settings.kafka_bootstrap,
        "--cassandra-contact",
        f"{c.host}:{c.port}",
        "--cassandra-dc",
        c.local_dc,
        "--keyspace",
        c.keyspace,
        "--group",
        settings.group_id,
        "--max-in-flight",
        str(settings.max_in_flight),
        "--durability-window",
        str(settings.durability_window_s),
    ]
    if not settings.migrate:
        args.append("--no-migrate")
    # Its credentials are the settings', whatever this process's environment holds.
    env = (
        kafka_auth.to_env(kafka_auth.AUDIT_WRITER, settings.kafka_auth)
        | cassandra_auth.to_env(cassandra_auth.WRITER, c.login, c.ca_file)
        | (extra_env or {})
    )
    return start_logged(args, log_path, env)
