"""The audit writer's start-up and shutdown: wires Kafka, Cassandra and the HTTP port to the
loops of :mod:`gavel.audit.loops`.

Called by ``gavel audit-writer`` through :func:`run_until_signalled` (SIGTERM/SIGINT stop it
gracefully) and by tests and benchmarks as ``await run(settings, stop=event)``.

Start: serve HTTP (not ready yet); connect to Cassandra and migrate the schema, retrying with a
backoff while Cassandra is down; start the dead-letter producer and the consumer (group
:data:`~gavel.audit.settings.DEFAULT_GROUP`, auto-commit off), retrying while Kafka is down
(:func:`gavel.lifecycle.retrying.retry`: nothing gives up on Cassandra or Kafka, only a stop
ends the wait). Then the loops run until stopped (:func:`gavel.audit.loops.run_loops`). On the
way out the port closes first, then the consumer, the producer and the Cassandra session.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from gavel import kafka_clients, topics
from gavel.audit import schema, web
from gavel.audit.loops import RETRYABLE, AuditWriter, run_loops
from gavel.audit.metrics import Health, WriterMetrics
from gavel.audit.schema import SchemaError
from gavel.audit.settings import WriterSettings
from gavel.audit.store import AuditStore, connect
from gavel.lifecycle import signals
from gavel.lifecycle.retrying import Failure, StoppedError, retry

log = logging.getLogger(__name__)

T = TypeVar("T")


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.writer: AuditWriter | None = None

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if self.writer is not None:
            await self.writer.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if self.writer is not None:
            await self.writer.on_assigned(set(assigned))
        if assigned:
            log.info("assigned %s", sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned))


async def _until_started(
    start: Callable[[], Awaitable[T]],
    *,
    what: str,
    stage: str,
    settings: WriterSettings,
    metrics: WriterMetrics,
    stop: asyncio.Event,
) -> T | None:
    """``start()`` until it works; None if the writer is stopped first."""
    if stop.is_set():
        return None

    async def failed(failure: Failure) -> None:
        metrics.retries.labels(stage).inc()
        if failure.failures == 1 or failure.failures % 10 == 0:
            log.warning(
                "%s failed %d time(s) (%r); retrying", what, failure.failures, failure.error
            )

    try:
        return await retry(
            start, transient=RETRYABLE, delays=settings.backoff, stop=stop, on_failure=failed
        )
    except StoppedError:
        return None


async def open_store(settings: WriterSettings) -> AuditStore:
    """Connect, migrate (if asked) and prepare; blocking work runs in a worker thread."""

    def work() -> AuditStore:
        cluster, session = connect(settings.cassandra, settings.request_timeout_s)
        try:
            if settings.migrate:  # before preparing: the statements need the tables
                report = schema.migrate(
                    session, settings.cassandra.keyspace, dict(settings.replication_map)
                )
                log.info(
                    "audit schema %s at version %d (applied now: %s)",
                    report.keyspace,
                    report.version,
                    list(report.applied) or "none",
                )
            return AuditStore(cluster, session, settings.cassandra.keyspace)
        except BaseException:
            cluster.shutdown()
            raise

    try:
        return await asyncio.to_thread(work)
    except SchemaError as exc:  # no schema agreement yet: try again like an outage
        raise ConnectionError(str(exc)) from exc


async def start_producer(settings: WriterSettings, client_id: str) -> AIOKafkaProducer:
    """The idempotent producer of dead letters, started."""
    producer = kafka_clients.make_producer(
        settings.kafka_bootstrap, f"{client_id}-dlq", settings.kafka_auth
    )
    try:
        await producer.start()
    except BaseException:
        await producer.stop()
        raise
    return producer


async def start_consumer(
    settings: WriterSettings, client_id: str, listener: ConsumerRebalanceListener
) -> AIOKafkaConsumer:
    """The group's consumer (manual commits), started and subscribed to gavel.audit."""
    consumer = kafka_clients.make_consumer(
        bootstrap=settings.kafka_bootstrap,
        group_id=settings.group_id,
        client_id=client_id,
        auth=settings.kafka_auth,
    )
    try:
        await consumer.start()
    except BaseException:
        await consumer.stop()
        raise
    consumer.subscribe([topics.AUDIT], listener=listener)
    return consumer


async def run(settings: WriterSettings, *, stop: asyncio.Event | None = None) -> None:
    """Write until ``stop`` is set; raises OSError if the HTTP port is taken."""
    stop = stop if stop is not None else asyncio.Event()
    metrics, health = WriterMetrics(), Health()
    api = web.Api(health=health, render_metrics=metrics.render)
    server = await web.start_server(settings.host, settings.port, api)
    client_id = settings.effective_client_id
    retry = functools.partial(_until_started, settings=settings, metrics=metrics, stop=stop)
    store: AuditStore | None = None
    producer: AIOKafkaProducer | None = None
    consumer: AIOKafkaConsumer | None = None
    log.info(
        "audit writer %s for region %s: Kafka %s, Cassandra %s:%d (dc %s, keyspace %s), HTTP %s:%d",
        client_id,
        settings.region,
        settings.kafka_bootstrap,
        settings.cassandra.host,
        settings.cassandra.port,
        settings.cassandra.local_dc,
        settings.cassandra.keyspace,
        settings.host,
        server.sockets[0].getsockname()[1],
    )
    try:
        store = await retry(
            lambda: open_store(settings),
            what="connecting to Cassandra",
            stage="cassandra_connect",
        )
        if store is None:
            return
        api.store = store
        health.cassandra_ok = True
        producer = await retry(
            lambda: start_producer(settings, client_id),
            what="starting the dead-letter producer",
            stage="kafka_start",
        )
        listener = _Listener()
        if producer is not None:
            consumer = await retry(
                lambda: start_consumer(settings, client_id, listener),
                what="starting the consumer",
                stage="kafka_start",
            )
        if producer is None or consumer is None:
            return
        health.kafka_ok = True
        writer = AuditWriter(
            settings,
            consumer=consumer,
            producer=producer,
            store=store,
            metrics=metrics,
            health=health,
            stop=stop,
        )
        listener.writer = writer
        loop = asyncio.get_running_loop()

        def on_trouble(why: str) -> None:  # on the driver's thread
            with contextlib.suppress(RuntimeError):  # the loop closed: stopping anyway
                loop.call_soon_threadsafe(writer.suspect, why)

        store.watch_hosts(on_trouble)
        await run_loops(writer)
    finally:
        health.kafka_ok = health.cassandra_ok = False
        server.close()
        if consumer is not None:
            await consumer.stop()
        if producer is not None:
            await producer.stop()
        if store is not None:
            await asyncio.to_thread(store.close)
        log.info("audit writer %s stopped", client_id)


def run_until_signalled(settings: WriterSettings) -> None:
    """Run the writer in a new event loop until SIGTERM or SIGINT (``gavel audit-writer``)."""

    async def work(stop: asyncio.Event) -> None:
        await run(settings, stop=stop)

    signals.run_until_signalled(work, quiet_loggers=["cassandra"])
