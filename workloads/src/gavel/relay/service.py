"""The relay's loops. :func:`run` wires Redis, Kafka, the disk outbox and the HTTP port together.

Called by ``gavel relay`` through :func:`run_until_signalled` (SIGTERM/SIGINT stop it
gracefully) and by tests and benchmarks as ``await run(settings, stop=event)``.

Three tasks share one Kafka producer (:class:`~gavel.relay.sink.KafkaSink`, one batch at a time):

* streams — start the producer (retrying with a backoff while Kafka is down), then in a loop:
  refresh the drop index every ``index_refresh_s``; first relay this consumer's own pending
  entries (a restart under the same name); every ``claim_interval_s`` claim entries idle for
  ``claim_idle_ms`` (a dead relay's); otherwise read new entries. Each batch: plan the records
  (pure, :mod:`gavel.relay.plan`), send them and wait until Kafka acknowledged all of them,
  *then* XDEL + XACK the entries. Never the other way round.
* outbox — every ``outbox_interval_s``, ship the disk outbox (:mod:`gavel.relay.segments`).
  With ``streams=False`` this is the only loop besides the gauges: a gateway pod's sidecar.
* gauges — every ``gauges_interval_s``, ping Redis (for /readyz) and measure the backlog.

Nothing here gives up on Redis or Kafka: every failed step is retried after a capped backoff
until it works or the relay is stopped (:mod:`gavel.lifecycle.retrying`); a stop leaves
unacknowledged entries pending in Redis, where the next relay claims them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from redis.exceptions import RedisError

from gavel import redis_client, redis_url
from gavel.lifecycle import signals
from gavel.lifecycle.retrying import Failure, OnFailure, StoppedError, pause, repeat, retry
from gavel.relay import segments, web
from gavel.relay.metrics import Health, RelayMetrics
from gavel.relay.plan import Record, StreamEntry, plan_batch
from gavel.relay.settings import RelaySettings
from gavel.relay.sink import DeliveryError, KafkaSink
from gavel.relay.streams import DropStreams

log = logging.getLogger(__name__)

T = TypeVar("T")

KeepAlive = Callable[[], Awaitable[None]]
"""Touches a batch's pending entries while it waits for Kafka (see DropStreams.keep_alive)."""


class Relay:
    """The loops of one relay; :func:`run` builds it and runs its tasks."""

    def __init__(
        self,
        settings: RelaySettings,
        *,
        streams: DropStreams,
        sink: KafkaSink,
        metrics: RelayMetrics,
        health: Health,
        stop: asyncio.Event,
    ) -> None:
        self.settings = settings
        self.streams = streams
        self.sink = sink
        self.metrics = metrics
        self.health = health
        self.stop = stop

    # --- the drop streams ----------------------------------------------------------------------

    async def relay_streams(self) -> None:
        if not await self._start_kafka():
            return
        s = self.settings
        loop = asyncio.get_running_loop()
        recovering = True
        next_refresh = next_claim = 0.0

        async def read() -> tuple[str, list[StreamEntry]]:
            """The next entries to relay and where they come from (``source``)."""
            nonlocal recovering, next_refresh, next_claim
            now = loop.time()
            if now >= next_refresh:
                new = await self.streams.refresh()
                if new:
                    more = f" and {len(new) - 5} more" if len(new) > 5 else ""
                    log.info("reading the streams of drops %s%s", ", ".join(new[:5]), more)
                self.metrics.streams.set(len(self.streams.streams))
                next_refresh = now + s.index_refresh_s
            if recovering:
                entries = await self.streams.read_own_pending(s.batch_size)
                recovering = bool(entries)
                return "recovered", entries
            if now >= next_claim:
                entries = await self.streams.claim_idle(s.claim_idle_ms, s.batch_size)
                next_claim = now + s.claim_interval_s
                if entries:
                    log.info("claimed %d entries left pending by another relay", len(entries))
                return "claimed", entries
            if self.streams.streams:
                return "stream", await self.streams.read_new(s.batch_size, s.block_ms)
            await pause(self.stop, s.block_ms / 1000)
            return "stream", []

        while not self.stop.is_set():
            try:
                source, entries = await self._with_redis(read, "redis_read", "Redis read failed")
            except StoppedError:
                return
            if entries:
                await self._relay(entries, source)

    async def _start_kafka(self) -> bool:
        """Start the shared producer, retrying while Kafka is down; False if the relay stopped
        first (or before)."""
        if self.stop.is_set():
            return False

        async def failed(failure: Failure) -> None:
            log.warning("%s; retrying in %.1f s", failure.error, failure.delay_s)

        try:
            await self._retry(self.sink.start, DeliveryError, failed)
        except StoppedError:
            return False
        return True

    async def _relay(self, entries: Sequence[StreamEntry], source: str) -> None:
        plan = plan_batch(entries)
        for reason in plan.dead_letters:
            log.error("dead-lettered %s", reason)

        async def keep_alive() -> None:
            try:
                await self.streams.keep_alive(plan.acks)
            except RedisError as exc:
                log.warning("could not keep pending entries claimed: %r", exc)

        try:
            await self._deliver(plan.records, keep_alive=keep_alive)
        except StoppedError:
            log.info("stopping: %d entries stay pending for the next relay", plan.entries)
            return
        if not await self._acknowledge(plan.acks):
            return
        self.metrics.entries.labels(source).inc(plan.entries)
        self.metrics.batches.labels(source).inc()
        self.metrics.dead_letters.inc(len(plan.dead_letters))

    async def _acknowledge(self, acks: Mapping[str, Sequence[bytes]]) -> bool:
        """XDEL + XACK until Redis takes it (tried once even when stopping: Kafka has the
        records); False if the relay stopped first (the entries stay pending and are sent
        again by whoever claims them)."""

        async def ack() -> None:
            await self.streams.ack_and_delete(acks)

        try:
            await self._with_redis(ack, "redis_ack", "acknowledging in Redis failed")
        except StoppedError:
            return False
        return True

    async def _with_redis(self, step: Callable[[], Awaitable[T]], stage: str, what: str) -> T:
        """``step()`` until Redis answers; each failure is counted under ``stage`` and takes
        the relay out of readiness until a Redis command succeeds again."""

        async def failed(failure: Failure) -> None:
            self.metrics.failures.labels(stage).inc()
            self.health.redis_ok = False
            log.warning("%s (%r); retrying in %.1f s", what, failure.error, failure.delay_s)

        result = await self._retry(step, RedisError, failed)
        self.health.redis_ok = True
        return result

    # --- Kafka ---------------------------------------------------------------------------------

    async def _deliver(
        self, records: Sequence[Record], keep_alive: KeepAlive | None = None
    ) -> None:
        """Send ``records`` until Kafka acknowledged all of them; raises StoppedError if the
        relay stops first."""

        async def send() -> None:
            await self.sink.send(
                records, stop=self.stop, while_waiting=keep_alive, tick_s=self.settings.keepalive_s
            )

        async def failed(failure: Failure) -> None:
            log.warning("%s; sending the batch again in %.1f s", failure.error, failure.delay_s)
            if keep_alive is not None:
                await keep_alive()

        await self._retry(send, DeliveryError, failed)

    # --- the disk outbox -----------------------------------------------------------------------

    async def ship_outbox(self, folder: Path) -> None:
        s = self.settings
        # Alone (no streams task), the shipper starts the shared producer itself.
        if not s.streams and not await self._start_kafka():
            return

        async def ship() -> None:
            try:
                await segments.ship_once(
                    folder, self._deliver, self.metrics, s.outbox_reclaim_idle_s
                )
            except OSError as exc:
                self.metrics.failures.labels("outbox").inc()
                log.warning("disk outbox %s: %r", folder, exc)

        with contextlib.suppress(StoppedError):
            await repeat(ship, every_s=s.outbox_interval_s, stop=self.stop)

    # --- gauges and readiness ------------------------------------------------------------------

    async def measure(self) -> None:
        await repeat(self._measure_once, every_s=self.settings.gauges_interval_s, stop=self.stop)

    async def _measure_once(self) -> None:
        s = self.settings
        try:
            await self.streams.redis.ping()
            self.health.redis_ok = True
            self.metrics.backlog.set(await self.streams.backlog())
        except RedisError:
            self.health.redis_ok = False
        if s.outbox_dir is not None:
            try:
                waiting = await asyncio.to_thread(segments.waiting_segments, s.outbox_dir)
                self.metrics.outbox_segments.set(waiting)
            except OSError as exc:  # a segment renamed or deleted while counted
                log.debug("counting disk segments: %r", exc)

    # --- helpers -------------------------------------------------------------------------------

    async def _retry(
        self,
        step: Callable[[], Awaitable[T]],
        transient: type[Exception],
        failed: OnFailure,
    ) -> T:
        """``step()`` until it works, backing off after each ``transient`` error; raises
        StoppedError if the relay stops first."""
        return await retry(
            step,
            transient=(transient,),
            delays=self.settings.backoff,
            stop=self.stop,
            on_failure=failed,
        )


async def run(settings: RelaySettings, *, stop: asyncio.Event | None = None) -> None:
    """Relay until ``stop`` is set (or the task is cancelled); raises OSError if the HTTP port
    is taken."""
    stop = stop if stop is not None else asyncio.Event()
    metrics, health = RelayMetrics(), Health()
    redis = redis_client.connect(
        settings.redis_url,
        socket_connect_timeout=5,
        socket_timeout=5 + settings.block_ms / 1000,
    )
    sink = KafkaSink(
        settings.kafka_bootstrap,
        client_id=f"relay-{settings.region}-{settings.consumer}",
        metrics=metrics,
        health=health,
        close_timeout_s=settings.shutdown_timeout_s,
        auth=settings.kafka_auth,
    )
    relay = Relay(
        settings,
        streams=DropStreams(redis, settings.consumer),
        sink=sink,
        metrics=metrics,
        health=health,
        stop=stop,
    )
    server: asyncio.Server | None = None
    try:
        server = await web.start_server(settings.host, settings.port, health, metrics.render)
        port = server.sockets[0].getsockname()[1]
        log.info(
            "relay %s for region %s: Redis %s, Kafka %s, HTTP %s:%d, outbox %s",
            settings.consumer,
            settings.region,
            redis_url.without_credentials(settings.redis_url),
            settings.kafka_bootstrap,
            settings.host,
            port,
            settings.outbox_dir or "-",
        )
        async with asyncio.TaskGroup() as tasks:
            if settings.streams:
                tasks.create_task(relay.relay_streams())
            tasks.create_task(relay.measure())
            if settings.outbox_dir is not None:
                tasks.create_task(relay.ship_outbox(settings.outbox_dir))
    finally:
        if server is not None:
            server.close()
        await sink.close()
        await redis.aclose()
        log.info("relay %s stopped", settings.consumer)


def run_until_signalled(settings: RelaySettings) -> None:
    """Run the relay in a new event loop until SIGTERM or SIGINT (``gavel relay``)."""

    async def work(stop: asyncio.Event) -> None:
        await run(settings, stop=stop)

    signals.run_until_signalled(work)
