"""Prometheus metrics of one relay, in a registry of its own.

Created by :func:`gavel.relay.service.run` and updated by the service, the Kafka sink and the
segment shipper; served by :mod:`gavel.relay.web` on ``/metrics``. A registry per relay (not the
process-wide default) lets a test or a benchmark run several relays in one process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


@dataclass(slots=True)
class Health:
    """What /healthz and /readyz answer from; written by the service, read by the web server."""

    redis_ok: bool = False
    """The last Redis command (or ping) succeeded."""
    kafka_started: bool = False
    """The Kafka producer started (it bootstrapped and got its producer id)."""

    def missing(self) -> list[str]:
        """What keeps the relay from being ready (ready: nothing), for /readyz."""
        return [
            name for name, ok in (("redis", self.redis_ok), ("kafka", self.kafka_started)) if not ok
        ]


@dataclass(slots=True)
class RelayMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    records: Counter = field(init=False)
    entries: Counter = field(init=False)
    batches: Counter = field(init=False)
    failures: Counter = field(init=False)
    dead_letters: Counter = field(init=False)
    skipped_lines: Counter = field(init=False)
    backlog: Gauge = field(init=False)
    streams: Gauge = field(init=False)
    outbox_segments: Gauge = field(init=False)
    in_flight: Gauge = field(init=False)
    kafka_wait: Gauge = field(init=False)

    def __post_init__(self) -> None:
        r = self.registry
        self.records = Counter(
            "gavel_relay_records",
            "Records Kafka acknowledged, by topic",
            ["topic"],
            registry=r,
        )
        self.entries = Counter(
            "gavel_relay_entries",
            "Outbox entries relayed and acknowledged, by source (stream: new, claimed: a dead "
            "relay's, recovered: this consumer's own, outbox: disk segments)",
            ["source"],
            registry=r,
        )
        self.batches = Counter(
            "gavel_relay_batches", "Batches Kafka acknowledged, by source", ["source"], registry=r
        )
        self.failures = Counter(
            "gavel_relay_failures",
            "Failed steps, each retried after a backoff, by stage "
            "(kafka_start, kafka_send, redis_read, redis_ack, redis_claim, outbox)",
            ["stage"],
            registry=r,
        )
        self.dead_letters = Counter(
            "gavel_relay_dead_letters",
            "Entries that did not parse, sent to gavel.audit.dlq",
            registry=r,
        )
        self.skipped_lines = Counter(
            "gavel_relay_outbox_skipped_lines",
            "Disk-outbox lines that did not parse (a torn last line after a crash)",
            registry=r,
        )
        self.backlog = Gauge(
            "gavel_relay_backlog_entries",
            "Entries in the drop streams not yet relayed (waiting or in flight); relayed "
            "entries are deleted, so this is the streams' total length",
            registry=r,
        )
        self.streams = Gauge("gavel_relay_streams", "Drop streams this relay reads", registry=r)
        self.outbox_segments = Gauge(
            "gavel_relay_outbox_segments",
            "Disk-outbox segments not yet shipped (closed and open)",
            registry=r,
        )
        self.in_flight = Gauge(
            "gavel_relay_in_flight_records",
            "Records handed to the Kafka producer and not yet acknowledged",
            registry=r,
        )
        self.kafka_wait = Gauge(
            "gavel_relay_kafka_wait_seconds",
            "How long the batch in flight has been waiting for Kafka (0 when none waits)",
            registry=r,
        )

    def render(self) -> bytes:
        """The text exposition format of every metric."""
        return generate_latest(self.registry)
