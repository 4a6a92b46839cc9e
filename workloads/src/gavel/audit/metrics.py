"""Prometheus metrics and readiness of one audit writer, in a registry of its own.

Created by :func:`gavel.audit.service.run`, updated by the service, served by
:mod:`gavel.audit.web` on ``/metrics`` and ``/readyz``. A registry per writer (not the
process-wide default) lets a test or a benchmark run several writers in one process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


@dataclass(slots=True)
class Health:
    """What /readyz answers from; written by the service, read by the web server."""

    cassandra_ok: bool = False
    """Connected, schema in place, and the last Cassandra request succeeded."""
    kafka_ok: bool = False
    """The consumer and the dead-letter producer started."""

    def missing(self) -> list[str]:
        """What keeps the writer from being ready (ready: nothing), for /readyz."""
        return [
            n for n, ok in (("cassandra", self.cassandra_ok), ("kafka", self.kafka_ok)) if not ok
        ]


@dataclass(slots=True)
class WriterMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    records: Counter = field(init=False)
    rows: Counter = field(init=False)
    dead_letters: Counter = field(init=False)
    retries: Counter = field(init=False)
    commits: Counter = field(init=False)
    rewinds: Counter = field(init=False)
    lag: Gauge = field(init=False)
    in_flight: Gauge = field(init=False)

    def __post_init__(self) -> None:
        r = self.registry
        self.records = Counter(
            "gavel_audit_records", "Records consumed from gavel.audit", registry=r
        )
        self.rows = Counter(
            "gavel_audit_rows_written",
            "Rows Cassandra acknowledged (a replayed record is written again, onto the same "
            "primary key with the same values)",
            registry=r,
        )
        self.dead_letters = Counter(
            "gavel_audit_dead_letters",
            "Records sent to gavel.audit.dlq instead of a row, by stage (parse: not a valid v1 "
            "bid event; bind: a value the driver could not encode)",
            ["stage"],
            registry=r,
        )
        self.retries = Counter(
            "gavel_audit_retries",
            "Failed steps retried after a backoff, by stage (cassandra_connect, "
            "cassandra_write, dead_letter, kafka_start, commit)",
            ["stage"],
            registry=r,
        )
        self.commits = Counter("gavel_audit_commits", "Offset commits Kafka accepted", registry=r)
        self.rewinds = Counter(
            "gavel_audit_rewinds",
            "Times the writer went back to its committed offsets to write the durability "
            "window again, because Cassandra showed trouble",
            registry=r,
        )
        self.lag = Gauge(
            "gavel_audit_lag_records",
            "Records of gavel.audit not yet committed (end offset - committed), by partition",
            ["partition"],
            registry=r,
        )
        self.in_flight = Gauge(
            "gavel_audit_in_flight_records",
            "Records taken from Kafka and not yet written or dead-lettered",
            registry=r,
        )

    def render(self) -> bytes:
        """The text exposition format of every metric."""
        return generate_latest(self.registry)
