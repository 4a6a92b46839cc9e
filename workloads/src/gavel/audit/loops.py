"""The audit writer's loops: consume, commit, gauges, and the drain on stop.

Built and run by :func:`gavel.audit.service.run` (which connects first) as
``await run_loops(AuditWriter(...))``. Three loops:

* consume — take records (at most ``max_in_flight`` unfinished at once: at the bound it waits
  for writes to finish, so Cassandra's pace becomes the consumer's) and classify them (pure,
  :mod:`gavel.audit.records`). Rows of the same Cassandra partition (drop and bucket) from one
  poll go in one write request (an unlogged single-partition batch of up to 16 rows), one
  task each, retried until Cassandra acknowledges; each poison record goes to
  ``gavel.audit.dlq``, retried until Kafka acknowledges. Only then are the records finished in
  the :class:`~gavel.audit.offsets.OffsetTracker`.
* commit — every ``commit_interval_s``, commit each partition's position: the offset below
  which every record finished, once it has been so for ``durability_window_s``
  (:class:`~gavel.audit.offsets.Settling`: Cassandra may lose the last seconds of acknowledged
  writes when a node dies). A crash replays from there; the replay lands on the same primary
  keys, so the table holds every attempt exactly once. When the driver marks a node down (or a
  write fails) the writer rewinds to the committed offsets and writes the window again
  (:meth:`AuditWriter.suspect`).
* gauges — every ``gauges_interval_s``, the lag (end offset - committed) per partition.

A failed write or dead letter is retried after a capped backoff
(:func:`gavel.lifecycle.retrying.retry`) until it works or the shutdown grace is over. A stop lets
writes in flight finish for ``shutdown_timeout_s``, commits what finished, and leaves the rest to
be replayed by the next writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from gavel.audit.metrics import Health, WriterMetrics
from gavel.audit.offsets import OffsetTracker, Settling, Ticket
from gavel.audit.records import Incoming, Poison, batch_by_partition, classify, dead_letter
from gavel.audit.rows import Attempt
from gavel.audit.settings import WriterSettings
from gavel.audit.store import AuditStore, StoreErrors
from gavel.lifecycle.retrying import Failure, StoppedError, pause, repeat, retry

log = logging.getLogger(__name__)

T = TypeVar("T")


RETRYABLE: tuple[type[BaseException], ...] = (*StoreErrors, KafkaError)
"""Failures of a dependency (not of the record): retried after a backoff."""


KEEPALIVE_POLL_S = 10.0
"""At the in-flight bound, poll (with every partition paused) this often: well inside the
consumer's ``max_poll_interval_ms`` (5 minutes), after which the group would evict it."""


@dataclass(frozen=True, slots=True)
class Pending:
    """A record on its way to a row."""

    ticket: Ticket[TopicPartition]
    record: Incoming
    attempt: Attempt


class AuditWriter:
    """The loops of one writer; :func:`gavel.audit.service.run` builds it once Cassandra and
    Kafka answer."""

    def __init__(
        self,
        settings: WriterSettings,
        *,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        store: AuditStore,
        metrics: WriterMetrics,
        health: Health,
        stop: asyncio.Event,
    ) -> None:
        self.settings = settings
        self.consumer = consumer
        self.producer = producer
        self.store = store
        self.metrics = metrics
        self.health = health
        self.stop = stop
        self.abandon = asyncio.Event()
        """Set when the shutdown grace is over: retrying steps give up."""
        self.tracker: OffsetTracker[TopicPartition] = OffsetTracker()
        self.settling: Settling[TopicPartition] = Settling(settings.durability_window_s)
        self.committed_offsets: dict[TopicPartition, int] = {}
        """What the group has committed, per assigned partition (where a rewind goes)."""
        self._written_since_rewind = True
        self._slot_freed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self.crash: BaseException | None = None
        self._failing: dict[str, int] = {}
        """Failures per stage since it last worked (for the log)."""
        self._paused = False

    # --- consuming ------------------------------------------------------------------------

    async def consume(self) -> None:
        s = self.settings
        while not self.stop.is_set():
            free = s.max_in_flight - self.tracker.in_flight
            if free <= 0:
                # At the bound: wait for a write to finish, without polling (the fetcher keeps
                # what it prefetched). Only a long wait (an outage) pauses every partition and
                # polls, empty-handed, so the group does not take this member for dead.
                self._slot_freed.clear()
                try:
                    await asyncio.wait_for(self._slot_freed.wait(), timeout=KEEPALIVE_POLL_S)
                    continue
                except TimeoutError:
                    self.consumer.pause(*self.consumer.assignment())
                    self._paused = True
                max_records = 1
            else:
                if self._paused:
                    self.consumer.resume(*self.consumer.paused())
                    self._paused = False
                max_records = min(free, s.max_batch)
            # Whatever a poll returns is taken, even past the bound (a partition assigned while
            # paused): a record returned and dropped would be skipped by the next commit.
            batches = await self._poll(max_records)
            unknown = {tp for tp in batches if tp not in self.committed_offsets}
            if unknown:  # assigned before this writer listened: learn where a rewind goes
                await self.on_assigned(unknown)
            for tp, records in batches.items():
                self._take(tp, records)
            self.metrics.in_flight.set(self.tracker.in_flight)

    def _take(self, tp: TopicPartition, records: list[Any]) -> None:
        """Track ``records`` of ``tp`` and start their work: a dead letter for each poison
        record, one write request per group of rows of the same partition."""
        writes: list[Pending] = []
        for record in records:
            ticket = self.tracker.start(tp, record.offset)
            incoming = Incoming(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=record.key,
                value=record.value,
                timestamp_ms=record.timestamp,
            )
            verdict = classify(incoming)
            if isinstance(verdict, Poison):
                self._spawn(self._poison(ticket, incoming, verdict.reason))
            else:
                writes.append(Pending(ticket, incoming, verdict.attempt))
        for group in batch_by_partition(writes, lambda p: p.attempt):
            self._spawn(self._write_group(group))

    async def _poll(self, max_records: int) -> dict[TopicPartition, list[Any]]:
        timeout = 0 if self._paused else self.settings.poll_timeout_ms
        try:
            batches: dict[TopicPartition, list[Any]] = await self.consumer.getmany(
                timeout_ms=timeout, max_records=max_records
            )
        except KafkaError as exc:
            self.metrics.retries.labels("kafka_poll").inc()
            log.warning("polling Kafka failed (%r); polling again", exc)
            await pause(self.stop, self.settings.backoff.initial_s)
            return {}
        count = sum(len(r) for r in batches.values())
        if count:
            self.metrics.records.inc(count)
        return batches

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not isinstance(exc, StoppedError) and self.crash is None:
            # A bug, not an outage: stop the writer (the pod restarts it) rather than leave a
            # partition whose commit position can never move again.
            log.error("record task failed", exc_info=exc)
            self.crash = exc
            self.stop.set()

    # --- one record -----------------------------------------------------------------------

    async def _poison(self, ticket: Ticket[TopicPartition], record: Incoming, reason: str) -> None:
        await self._dead_letter(record, reason, "parse")
        self._finish([ticket])

    async def _write_group(self, group: list[Pending]) -> None:
        """Write one partition's rows until Cassandra acknowledges them; rows the driver
        cannot encode are dead-lettered instead. Then their records are finished."""
        attempts = [p.attempt for p in group]

        async def write() -> list[tuple[int, str]]:
            return await self.store.write_partition(attempts)

        rejected = await self._retry(write, "cassandra_write", f"writing {len(group)} row(s)")
        self.health.cassandra_ok = True
        self._written_since_rewind = True
        self.metrics.rows.inc(len(group) - len(rejected))
        for index, reason in rejected:
            await self._dead_letter(group[index].record, reason, "bind")
        self._finish([p.ticket for p in group])

    def _finish(self, tickets: list[Ticket[TopicPartition]]) -> None:
        for ticket in tickets:
            self.tracker.finish(ticket)
        self.metrics.in_flight.set(self.tracker.in_flight)
        self._slot_freed.set()

    async def _dead_letter(self, record: Incoming, reason: str, stage: str) -> None:
        letter = dead_letter(record, reason)

        async def send() -> None:
            await self.producer.send_and_wait(letter.topic, letter.value, key=letter.key)

        where = f"{record.topic}[{record.partition}]@{record.offset}"
        await self._retry(send, "dead_letter", f"dead-lettering {where}")
        self.metrics.dead_letters.labels(stage).inc()
        log.error("dead-lettered %s: %s", where, reason)

    async def _retry(self, step: Callable[[], Awaitable[T]], stage: str, what: str) -> T:
        """Run ``step`` until it succeeds; StoppedError once the shutdown grace is over.

        Hundreds of records may be retrying at once during an outage: the log says when a stage
        starts failing (and every 1000th failure), and when it works again, not every retry."""

        async def failed(failure: Failure) -> None:
            self.metrics.retries.labels(stage).inc()
            if stage == "cassandra_write":
                self.health.cassandra_ok = False
            self._failing[stage] = self._failing.get(stage, 0) + 1
            if stage == "cassandra_write" and self._failing[stage] == 1:
                self.suspect(f"a write failed ({failure.error!r})")
            if self._failing[stage] % 1000 == 1:
                log.warning(
                    "%s failed (%r); retrying with backoff (%d failures of %s so far)",
                    what,
                    failure.error,
                    self._failing[stage],
                    stage,
                )

        result = await retry(
            step,
            transient=RETRYABLE,
            delays=self.settings.backoff,
            stop=self.abandon,
            on_failure=failed,
        )
        if self._failing.pop(stage, 0):
            log.info("%s works again", stage)
        return result

    # --- committing -----------------------------------------------------------------------

    async def commit_loop(self) -> None:
        await repeat(self.commit, every_s=self.settings.commit_interval_s, stop=self.stop)

    async def commit(self, only: set[TopicPartition] | None = None) -> None:
        """Commit every settled position that moved (of ``only`` these partitions): written,
        and for the durability window (:class:`~gavel.audit.offsets.Settling`). A failure is
        counted, logged and left for the next round."""
        now = asyncio.get_running_loop().time()
        positions = {}
        for tp in self.tracker.partitions():
            if only is not None and tp not in only:
                continue
            written = self.tracker.position(tp)
            if written is not None:
                self.settling.observe(tp, written, now)
            settled = self.settling.settled(tp, now)
            if settled is not None and settled != self.committed_offsets.get(tp):
                positions[tp] = settled
        if not positions:
            return
        try:
            await self.consumer.commit(positions)
        except KafkaError as exc:
            self.metrics.retries.labels("commit").inc()
            log.warning("commit of %s failed: %r", positions, exc)
            return
        for tp, pos in positions.items():
            self.tracker.committed(tp, pos)
            self.committed_offsets[tp] = pos
        self.metrics.commits.inc()

    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        """After a rebalance: learn where each new partition's committed offset is (a rewind
        goes back there)."""
        for tp in assigned:
            offset = await self.consumer.committed(tp)
            if offset is None:  # a new group: auto_offset_reset=earliest
                offset = (await self.consumer.beginning_offsets([tp]))[tp]
            self.committed_offsets[tp] = offset

    def suspect(self, why: str) -> None:
        """Cassandra showed trouble (a node down, a write failed): rows acknowledged within
        the durability window may be lost. Go back to the committed offsets and write every
        record from there again (cancelling the writes in flight: their records come again).
        Nothing is done again until a write has succeeded since the last rewind."""
        if self.settings.durability_window_s <= 0 or not self._written_since_rewind:
            return
        self._written_since_rewind = False
        for tp in list(self.consumer.assignment()):
            offset = self.committed_offsets.get(tp)
            if offset is None:
                log.error("no committed offset known for %s: cannot rewind it", tp)
                continue
            self.consumer.seek(tp, offset)
            self.tracker.forget(tp)
            self.settling.clear(tp)
        for task in list(self._tasks):
            task.cancel()
        self.store.forget_buckets()
        self.metrics.rewinds.inc()
        self.metrics.in_flight.set(self.tracker.in_flight)
        self._slot_freed.set()
        log.warning(
            "Cassandra: %s; writing again everything after the committed offsets (up to the "
            "last %.0f s of rows, which it may not have made durable)",
            why,
            self.settings.durability_window_s,
        )

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        """Before a rebalance: let the partitions' writes finish briefly, commit, forget them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.revoke_wait_s
        while any(self.tracker.in_flight_of(tp) for tp in revoked):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._slot_freed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._slot_freed.wait(), timeout=remaining)
        await self.commit(only=revoked)
        for tp in revoked:
            self.tracker.forget(tp)
            self.settling.clear(tp)
            self.committed_offsets.pop(tp, None)
        self._paused = False  # the new assignment starts unpaused
        if revoked:
            log.info("handed over %s", sorted(f"{tp.topic}[{tp.partition}]" for tp in revoked))

    # --- gauges ---------------------------------------------------------------------------

    async def measure(self) -> None:
        await repeat(self._measure_once, every_s=self.settings.gauges_interval_s, stop=self.stop)

    async def _measure_once(self) -> None:
        assigned = list(self.consumer.assignment())
        if not assigned:
            return
        try:
            ends = await self.consumer.end_offsets(assigned)
            for tp in assigned:
                committed = self.committed_offsets.get(tp)
                if committed is None:
                    committed = await self.consumer.committed(tp)
                if committed is None:  # nothing committed yet: all of it is to read
                    begins = await self.consumer.beginning_offsets([tp])
                    committed = begins[tp]
                lag = max(0, ends[tp] - committed)
                self.metrics.lag.labels(str(tp.partition)).set(lag)
        except KafkaError as exc:
            log.debug("lag measurement failed: %r", exc)

    # --- stopping -------------------------------------------------------------------------

    async def drain(self) -> None:
        """After the consume loop stopped: let writes in flight finish (for the grace period),
        commit what finished, abandon the rest (the next writer replays it)."""
        if self._tasks:
            log.info("stopping: %d record(s) in flight", len(self._tasks))
            await asyncio.wait(set(self._tasks), timeout=self.settings.shutdown_timeout_s)
        self.abandon.set()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)
        for task in list(self._tasks):
            task.cancel()
        await self.commit()


async def run_loops(writer: AuditWriter) -> None:
    """Consume, commit and measure until stopped; then drain. Raises what a loop (or a record
    task) crashed with."""
    loops = [
        asyncio.create_task(writer.consume()),
        asyncio.create_task(writer.commit_loop()),
        asyncio.create_task(writer.measure()),
    ]
    try:
        await asyncio.wait(loops, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        writer.stop.set()
        results = await asyncio.gather(*loops, return_exceptions=True)
        await writer.drain()
    for result in results:
        if isinstance(result, Exception):
            raise result
    if writer.crash is not None:
        raise writer.crash
