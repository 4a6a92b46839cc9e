"""Relay configuration: one frozen dataclass, built by ``gavel relay`` from flags and the
environment (:mod:`gavel.endpoints`), or directly by tests and benchmarks.

Read by every other module of the package, which it imports none of (its backoff: gavel.backoff).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from gavel.backoff import Backoff
from gavel.kafka_auth import KafkaAuth


def default_consumer() -> str:
    """``<hostname>-<pid>``: unique per process, also across pods (each has its own hostname)."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, slots=True)
class RelaySettings:
    region: str
    redis_url: str
    kafka_bootstrap: str
    port: int
    """HTTP port of /healthz, /readyz and /metrics (0: any free port, for tests)."""
    host: str = "127.0.0.1"
    """Address to bind the HTTP port to; a pod passes 0.0.0.0 so the kubelet can probe it."""
    kafka_auth: KafkaAuth | None = None
    """The relay's Kafka user (gavel.kafka_auth); None: Kafka without authentication."""
    outbox_dir: Path | None = None
    """The gateway's disk outbox to ship (None: this relay ships no disk outbox)."""
    streams: bool = True
    """Relay the region's drop streams. False: a disk-outbox shipper only, the sidecar of a
    gateway pod; the region's single stream relay runs apart (per-drop order needs one)."""
    claim_idle_ms: int = 10_000
    """Entries pending (read, not acknowledged) this long belong to a relay presumed dead and
    are claimed. A live relay keeps its own entries fresh while it waits for Kafka."""
    consumer: str = field(default_factory=default_consumer)
    """Consumer name in the group; unique per process."""
    batch_size: int = 500
    """XREADGROUP COUNT (entries per stream per read) and XAUTOCLAIM COUNT (per stream)."""
    block_ms: int = 500
    """How long one XREADGROUP waits for new entries; bounds how late a stop is noticed."""
    index_refresh_s: float = 1.0
    """How often the drop index is read again for new drops."""
    claim_interval_s: float = 1.0
    """How often idle pending entries are looked for."""
    outbox_interval_s: float = 1.0
    """How often the disk outbox is looked at."""
    outbox_reclaim_idle_s: float = 5.0
    """An ``.open`` segment untouched this long, whose writer process is gone, gets shipped."""
    gauges_interval_s: float = 1.0
    """How often the backlog gauges are measured and Redis is pinged for /readyz."""
    backoff: Backoff = field(default_factory=Backoff)
    shutdown_timeout_s: float = 5.0
    """How long a stop waits for the Kafka producer to close."""

    def __post_init__(self) -> None:
        problems = []
        if not self.streams and self.outbox_dir is None:
            problems.append("a relay without streams needs an outbox folder to ship")
        if not 0 <= self.port <= 65535:
            problems.append(f"port {self.port} is not 0..65535")
        if self.claim_idle_ms < 100:
            problems.append(f"claim_idle_ms {self.claim_idle_ms} is below 100")
        if self.batch_size < 1:
            problems.append(f"batch_size {self.batch_size} is below 1")
        if self.block_ms < 1:
            problems.append(f"block_ms {self.block_ms} is below 1")
        if not self.consumer:
            problems.append("consumer name is empty")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def keepalive_s(self) -> float:
        """While a batch waits for Kafka, its entries are touched this often (a third of the
        claim threshold), so no other relay claims them from a live relay."""
        return self.claim_idle_ms / 3000
