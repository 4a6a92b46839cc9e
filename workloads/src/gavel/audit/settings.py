"""Audit writer configuration: one frozen dataclass, built by ``gavel audit-writer`` from flags
and the environment (:mod:`gavel.endpoints`), or directly by tests and benchmarks. Pure.

Read by every I/O module of the package; imports only :mod:`gavel.backoff`, the schema's names
and the pure credential modules (:mod:`gavel.kafka_auth`, :mod:`gavel.cassandra_auth`).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

from gavel import cassandra_auth, endpoints
from gavel.audit.schema import KEYSPACE, check_name
from gavel.backoff import Backoff
from gavel.cassandra_auth import CassandraLogin
from gavel.kafka_auth import KafkaAuth

DEFAULT_GROUP = "gavel-audit-writer"
"""Consumer group of every audit writer of a region (each region has its own Kafka)."""


def parse_contact(contact: str, default_port: int = 9042) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``, or a bare host) -> ``(host, port)``."""
    text = contact.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host:
        raise ValueError(f"invalid Cassandra contact {contact!r}: no host")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"invalid Cassandra contact {contact!r}: bad port")
    return host, int(port_text)


def default_client_id(region: str) -> str:
    return f"audit-writer-{region}-{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, slots=True)
class CassandraTarget:
    """Where the audit trail lives (a contact node, the local DC, the keyspace) and how to
    reach it: as which role, over TLS trusting which CA."""

    host: str
    port: int
    local_dc: str
    keyspace: str = KEYSPACE
    login: CassandraLogin | None = None
    """The role's login; None: a Cassandra without authentication."""
    ca_file: str | None = None
    """The CA that signed the nodes' certificates; None: plain connections (one host only)."""

    def __post_init__(self) -> None:
        check_name(self.keyspace)
        if not self.local_dc:
            raise ValueError("local data centre is empty")


def target_from_env(
    role: str,
    contact: str | None = None,
    dc: str | None = None,
    keyspace: str = KEYSPACE,
    env: Mapping[str, str] | None = None,
) -> CassandraTarget:
    """The target of a process running as Cassandra ``role`` (:mod:`gavel.cassandra_auth`):
    flags (``contact``, ``dc``) over the environment, the role's login and the CA from it.
    Raises :class:`gavel.endpoints.MissingEndpointError` or ``ValueError`` on bad input."""
    return CassandraTarget(
        *parse_contact(contact or endpoints.cassandra_contact(env)),
        local_dc=dc or endpoints.cassandra_dc(env),
        keyspace=keyspace,
        login=cassandra_auth.login_from_env(role, env),
        ca_file=cassandra_auth.ca_file_from_env(env),
    )


@dataclass(frozen=True, slots=True)
class WriterSettings:
    region: str
    kafka_bootstrap: str
    cassandra: CassandraTarget
    port: int
    """HTTP port of /healthz, /readyz, /metrics and the audit API (0: any free port)."""
    host: str = "127.0.0.1"
    kafka_auth: KafkaAuth | None = None
    """The writer's Kafka user (gavel.kafka_auth); None: Kafka without authentication."""
    replication: tuple[tuple[str, int], ...] = ()
    """Replicas per data centre for the keyspace, if the migration creates it; empty: the
    local DC with one replica (the local stack)."""
    group_id: str = DEFAULT_GROUP
    client_id: str = ""
    max_in_flight: int = 2048
    """Records taken from Kafka and not yet durable (written or dead-lettered), at most. When
    reached, the writer takes no more until writes finish: Cassandra's pace is the consumer's
    pace. Measured (docs/performance.md): 2048 kept Cassandra busier than 512 or 128."""
    max_batch: int = 500
    """Records taken from Kafka per poll, at most."""
    poll_timeout_ms: int = 200
    commit_interval_s: float = 0.2
    """How often finished offsets are committed."""
    gauges_interval_s: float = 1.0
    """How often the lag is measured."""
    revoke_wait_s: float = 2.0
    """On a rebalance, how long writes of revoked partitions may finish before handing over."""
    shutdown_timeout_s: float = 10.0
    """On a stop, how long writes in flight may finish (and be committed) before giving up."""
    request_timeout_s: float = 10.0
    """Cassandra request timeout (a write that takes longer is retried)."""
    durability_window_s: float = 15.0
    """Offsets are committed only for rows written at least this long ago; if Cassandra shows
    trouble meanwhile, the writer writes them again. Above Cassandra's
    ``commitlog_sync_period`` (10 s by default), so a node that dies before syncing its
    commit log loses nothing the writer committed (see :class:`gavel.audit.offsets.Settling`).
    0: commit as soon as written (when the commit log syncs before acknowledging)."""
    migrate: bool = True
    """Run the schema migration at start (``gavel audit migrate`` does the same)."""
    backoff: Backoff = field(default_factory=Backoff)

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.port <= 65535:
            problems.append(f"port {self.port} is not 0..65535")
        if self.max_in_flight < 1:
            problems.append(f"max_in_flight {self.max_in_flight} is below 1")
        if self.durability_window_s < 0:
            problems.append(f"durability_window_s {self.durability_window_s} is negative")
        if self.max_batch < 1:
            problems.append(f"max_batch {self.max_batch} is below 1")
        if not self.group_id:
            problems.append("consumer group is empty")
        for dc, replicas in self.replication:
            if not dc or replicas < 1:
                problems.append(f"bad replication entry {dc!r}={replicas}")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def replication_map(self) -> Mapping[str, int]:
        return dict(self.replication) or {self.cassandra.local_dc: 1}

    @property
    def effective_client_id(self) -> str:
        return self.client_id or default_client_id(self.region)
