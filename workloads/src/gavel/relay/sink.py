"""Kafka side of the relay: hand a batch of records to the idempotent producer and wait until
Kafka acknowledged every one of them. A thin adapter over aiokafka.

Used by :mod:`gavel.relay.service` (stream batches) and :mod:`gavel.relay.segments` (disk
segments); one batch at a time (a lock), so a producer is only ever replaced when nothing of
another batch is still in it.

How aiokafka behaves, and what this module does about it:

* The producer comes from :func:`gavel.kafka_clients.make_producer` (idempotent, acks=all).
* ``start()`` fails at once when no broker answers: :meth:`KafkaSink.send` raises
  :class:`DeliveryError` and the caller retries after a backoff.
* Once started, an idempotent aiokafka producer never gives up on a *retriable* error: a batch
  sent while the broker is down waits inside the producer (retried every ``retry_backoff_ms``)
  and is delivered when the broker is back, without duplicates. :meth:`KafkaSink.send` waits
  for it as long as it takes, calling ``while_waiting`` every ``tick_s`` (the service keeps its
  Redis entries claimed and reports the wait) and giving up only when ``stop`` is set.
* A *non-retriable* error fails the record's future: the producer is closed and replaced (a new
  producer id), and the caller sends the whole batch again: the records that did get through
  are duplicated, which the at-least-once contract allows (same ``event_id``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from gavel import kafka_clients
from gavel.kafka_auth import KafkaAuth
from gavel.lifecycle.retrying import StoppedError
from gavel.relay.metrics import Health, RelayMetrics
from gavel.relay.plan import Record, count_by_topic

log = logging.getLogger(__name__)

REPORT_WAIT_AFTER_S = 5.0
"""A batch unacknowledged this long is logged (and again every ``REPORT_WAIT_EVERY_S``)."""
REPORT_WAIT_EVERY_S = 30.0


class DeliveryError(RuntimeError):
    """Kafka did not acknowledge the whole batch; send it again after a backoff."""


class KafkaSink:
    def __init__(
        self,
        bootstrap: str,
        client_id: str,
        metrics: RelayMetrics,
        health: Health,
        *,
        close_timeout_s: float = 5.0,
        auth: KafkaAuth | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.auth = auth
        self.client_id = client_id
        self.metrics = metrics
        self.health = health
        self.close_timeout_s = close_timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Start the producer if it is not running; raises DeliveryError if Kafka is down."""
        async with self._lock:
            await self._started()

    async def send(
        self,
        records: Sequence[Record],
        *,
        stop: asyncio.Event,
        while_waiting: Callable[[], Awaitable[None]] | None = None,
        tick_s: float = 1.0,
    ) -> None:
        """Produce ``records`` in order and return once Kafka acknowledged all of them.

        Raises DeliveryError (send the batch again later) or StoppedError (``stop`` was set
        while Kafka had not acknowledged everything: the batch stays pending).
        """
        if not records:
            return
        async with self._lock:
            if stop.is_set():  # waited for the lock until the relay stopped: send nothing
                raise StoppedError("stopping before the batch was sent")
            producer = await self._started()
            futures: list[asyncio.Future[Any]] = []
            failure: BaseException | None = None
            try:
                for r in records:
                    futures.append(await producer.send(r.topic, r.value, key=r.key))
            except KafkaError as exc:  # no metadata for a topic in time, buffer full...
                failure = exc
            self.metrics.in_flight.set(len(futures))
            try:
                results = await self._wait(futures, stop, while_waiting, tick_s)
            finally:
                self.metrics.in_flight.set(0)
                self.metrics.kafka_wait.set(0)
            failure = failure or next((r for r in results if isinstance(r, BaseException)), None)
            if failure is not None:
                self.metrics.failures.labels("kafka_send").inc()
                log.warning("Kafka refused a batch (%r); replacing the producer", failure)
                await self._close()
                raise DeliveryError(repr(failure)) from failure
        for topic, n in count_by_topic(records).items():
            self.metrics.records.labels(topic).inc(n)

    async def _wait(
        self,
        futures: list[asyncio.Future[Any]],
        stop: asyncio.Event,
        while_waiting: Callable[[], Awaitable[None]] | None,
        tick_s: float,
    ) -> list[Any]:
        if not futures:
            return []
        acked = asyncio.ensure_future(asyncio.gather(*futures, return_exceptions=True))
        stopping = asyncio.ensure_future(stop.wait())
        began = time.monotonic()
        next_report = began + REPORT_WAIT_AFTER_S
        try:
            while True:
                done, _ = await asyncio.wait(
                    {acked, stopping}, timeout=tick_s, return_when=asyncio.FIRST_COMPLETED
                )
                waited = time.monotonic() - began
                if acked in done:
                    if waited >= REPORT_WAIT_AFTER_S:
                        log.info("Kafka acknowledged after %.1f s", waited)
                    return list(acked.result())
                if stopping in done:
                    raise StoppedError(f"stopping with {len(futures)} records unacknowledged")
                self.metrics.kafka_wait.set(waited)
                if time.monotonic() >= next_report:
                    log.warning(
                        "waiting %.0f s for Kafka to acknowledge %d records (the producer "
                        "retries; entries stay pending in Redis)",
                        waited,
                        len(futures),
                    )
                    next_report += REPORT_WAIT_EVERY_S
                if while_waiting is not None:
                    await while_waiting()
        finally:
            stopping.cancel()
            # Never cancel the gather: that would cancel the records' futures, and aiokafka
            # sends them anyway. Left alone it just finishes when the producer does.

    async def _started(self) -> AIOKafkaProducer:
        if self._producer is not None:
            return self._producer
        producer = kafka_clients.make_producer(self.bootstrap, self.client_id, self.auth)
        try:
            await producer.start()
        except KafkaError as exc:
            self.metrics.failures.labels("kafka_start").inc()
            with contextlib.suppress(KafkaError):
                await producer.stop()
            who = f" as {self.auth.username}" if self.auth else ""
            raise DeliveryError(
                f"Kafka at {self.bootstrap} did not start a producer{who} (down, or refused the "
                f"credential: the error above says which): {exc!r}"
            ) from exc
        log.info("Kafka producer started (%s)", self.bootstrap)
        self._producer = producer
        self.health.kafka_started = True
        return producer

    async def close(self) -> None:
        """Stop the producer (waiting at most ``close_timeout_s`` for what it still holds)."""
        async with self._lock:
            await self._close()

    async def _close(self) -> None:
        producer, self._producer = self._producer, None
        self.health.kafka_started = False
        if producer is None:
            return
        try:
            await asyncio.wait_for(producer.stop(), self.close_timeout_s)
        except (TimeoutError, KafkaError) as exc:
            # Only when Kafka is unreachable with records still in the producer: they stay
            # unacknowledged in Redis and another relay (or the next start) sends them.
            log.warning("Kafka producer did not close cleanly: %r", exc)
