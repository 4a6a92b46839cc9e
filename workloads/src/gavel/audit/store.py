"""Cassandra adapter of the audit trail: connect, migrate, write rows, read them back.

Used by the writer (:mod:`gavel.audit.service` connects, :mod:`gavel.audit.loops` writes), the
readers (:mod:`gavel.audit.reading`, so the HTTP API and ``gavel audit show``),
``gavel audit migrate``, tests and the benchmark.

The driver (``cassandra-driver``) runs its own I/O thread (libev). :func:`aio` bridges a
driver ``ResponseFuture`` to an asyncio future: the driver's callbacks run on its thread and
only hand the result over with ``loop.call_soon_threadsafe``; nothing else crosses threads.
Blocking calls (connect, prepare, migrate) run in a worker thread (``asyncio.to_thread``).

Writes are plain ``INSERT``s (rows of one partition go together in an ``UNLOGGED`` batch, one
request per partition), no lightweight transactions: an attempt's primary key is fixed by
its event (drop, bucket, decided time, event id) and its values never change, so writing it
again rewrites identical cells (same values, same ``USING TIMESTAMP``). Before a drop's first
row in a bucket, the bucket goes into ``attempt_buckets``, so a reader who walks the index
never misses an acknowledged row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from cassandra import AuthenticationFailed, ConsistencyLevel, DriverException, Unauthorized
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    ResponseFuture,
    Session,
)
from cassandra.connection import ConnectionException
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    HostStateListener,
    TokenAwarePolicy,
)
from cassandra.query import BatchStatement, BatchType

from gavel import cassandra_auth
from gavel.audit import schema
from gavel.audit.rows import Attempt, attempt_from_row
from gavel.audit.settings import CassandraTarget

log = logging.getLogger(__name__)

StoreErrors: tuple[type[BaseException], ...] = (
    DriverException,
    NoHostAvailable,
    ConnectionException,
    OSError,
)
"""What a Cassandra request may fail with while the cluster is unreachable or overloaded: the
writer retries these (they say nothing about the row)."""

BIND_ERRORS: tuple[type[BaseException], ...] = (TypeError, ValueError, OverflowError)
"""What binding a row's values may fail with: the row is at fault, not Cassandra."""


def aio(future: ResponseFuture) -> asyncio.Future[Any]:
    """An asyncio future (of the current loop) for a driver future: the first page of rows."""
    loop = asyncio.get_running_loop()
    result: asyncio.Future[Any] = loop.create_future()

    def settle(value: Any, exc: BaseException | None) -> None:
        if result.done():  # cancelled meanwhile
            return
        if exc is not None:
            result.set_exception(exc)
        else:
            result.set_result(value)

    def ok(rows: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(settle, rows, None)

    def failed(exc: BaseException) -> None:
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, None, exc)

    future.add_callbacks(ok, failed)
    return result


PROTOCOL_VERSION = 5
"""Native protocol v5 (Cassandra 4.0+): fixed, so the driver does not probe and warn."""


def security_options(target: CassandraTarget) -> dict[str, Any]:
    """``Cluster`` keyword arguments for the target's login (PasswordAuthenticator) and client
    encryption trusting only its CA file; neither gives a plain, anonymous client."""
    options: dict[str, Any] = {}
    if target.login is not None:
        options["auth_provider"] = PlainTextAuthProvider(
            target.login.username, target.login.password
        )
    if target.ca_file:
        options["ssl_context"] = cassandra_auth.ssl_context(target.ca_file)
    return options


def describe(exc: BaseException, target: CassandraTarget) -> str:
    """What went wrong with ``target``, in words: a refused login or a refused request names
    the user (never the password) instead of the driver's per-host error map."""
    who = target.login.username if target.login else "an anonymous client"
    errors = exc.errors.values() if isinstance(exc, NoHostAvailable) else (exc,)
    if any(isinstance(e, AuthenticationFailed) for e in errors):
        return (
            f"Cassandra at {target.host}:{target.port} refused the login of {who}: "
            "check the user name and password (CASSANDRA_USER_<ROLE>, CASSANDRA_PASSWORD_<ROLE>)"
        )
    if isinstance(exc, Unauthorized):
        return f"Cassandra refused {who} this request (its role lacks the right): {exc}"
    if isinstance(exc, NoHostAvailable | ConnectionException | OSError):
        return f"cannot reach Cassandra at {target.host}:{target.port}: {exc}"
    return f"Cassandra request failed: {exc!r}"


def make_cluster(target: CassandraTarget, request_timeout_s: float = 10.0) -> Cluster:
    """A driver cluster for ``target``: token-aware, local DC only, LOCAL_QUORUM."""
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=target.local_dc)),
        consistency_level=ConsistencyLevel.LOCAL_QUORUM,
        request_timeout=request_timeout_s,
    )
    return Cluster(
        contact_points=[target.host],
        port=target.port,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        # Come back quickly after an outage: the writer is waiting to catch up.
        reconnection_policy=ExponentialReconnectionPolicy(base_delay=0.5, max_delay=5.0),
        connect_timeout=5,
        control_connection_timeout=5,
        max_schema_agreement_wait=30,
        protocol_version=PROTOCOL_VERSION,
        # Find a dead connection (a node that lost power, a half-open socket) within seconds,
        # not the default half minute: the writer's durability window relies on hearing of it.
        idle_heartbeat_interval=5,
        idle_heartbeat_timeout=5,
        **security_options(target),
    )


def connect(target: CassandraTarget, request_timeout_s: float = 10.0) -> tuple[Cluster, Session]:
    """Connect (blocking); raises one of :data:`StoreErrors` if no node answers."""
    cluster = make_cluster(target, request_timeout_s)
    try:
        return cluster, cluster.connect()
    except BaseException:
        cluster.shutdown()
        raise


class _HostWatch(HostStateListener):  # type: ignore[misc]
    def __init__(self, on_trouble: Callable[[str], None]) -> None:
        self.on_trouble = on_trouble

    def on_down(self, host: Any) -> None:
        self.on_trouble(f"node {host} is down")

    def on_remove(self, host: Any) -> None:
        self.on_trouble(f"node {host} left")

    def on_up(self, host: Any) -> None:
        pass

    def on_add(self, host: Any) -> None:
        pass


class AuditStore:
    """Prepared statements on a connected session, and their asyncio calls."""

    BUCKET_CACHE = 10_000

    def __init__(self, cluster: Cluster, session: Session, keyspace: str) -> None:
        self.cluster = cluster
        self.session = session
        self.keyspace = ks = schema.check_name(keyspace)
        # The keyspace name passed check_name: the CQL built from it is safe (S608).
        columns = ", ".join(schema.COLUMN_NAMES)
        marks = ", ".join("?" for _ in schema.COLUMN_NAMES)
        self._insert = session.prepare(
            f"INSERT INTO {ks}.{schema.ATTEMPTS} ({columns}) VALUES ({marks}) USING TIMESTAMP ?"  # noqa: S608
        )
        self._insert_bucket = session.prepare(
            f"INSERT INTO {ks}.{schema.BUCKETS} (drop_id, bucket) VALUES (?, ?)"  # noqa: S608
        )
        self._buckets = session.prepare(
            f"SELECT bucket FROM {ks}.{schema.BUCKETS} WHERE drop_id = ? AND bucket >= ?"  # noqa: S608
        )
        self._rows = session.prepare(
            f"SELECT {columns} FROM {ks}.{schema.ATTEMPTS} WHERE drop_id = ? AND bucket = ? LIMIT ?"  # noqa: S608
        )
        self._rows_after = session.prepare(
            f"SELECT {columns} FROM {ks}.{schema.ATTEMPTS} "  # noqa: S608
            "WHERE drop_id = ? AND bucket = ? AND (decided_ms, event_id) > (?, ?) LIMIT ?"
        )
        for statement in (self._insert, self._insert_bucket):
            statement.is_idempotent = True  # safe for the driver to retry on another node
        self._known_buckets: OrderedDict[tuple[str, int], asyncio.Future[None]] = OrderedDict()

    @classmethod
    def open(cls, target: CassandraTarget, request_timeout_s: float = 10.0) -> AuditStore:
        """Connect and prepare (blocking: call through ``asyncio.to_thread``)."""
        cluster, session = connect(target, request_timeout_s)
        try:
            return cls(cluster, session, target.keyspace)
        except BaseException:
            cluster.shutdown()
            raise

    def close(self) -> None:
        """Close every connection (blocking)."""
        self.cluster.shutdown()

    def forget_buckets(self) -> None:
        """Write bucket index rows again from now on (they may have been lost with the rows
        a node had not made durable)."""
        self._known_buckets.clear()

    def watch_hosts(self, on_trouble: Callable[[str], None]) -> None:
        """Call ``on_trouble(why)`` (on the driver's thread) whenever a node goes down."""
        self.cluster.register_listener(_HostWatch(on_trouble))

    # --- writes ---------------------------------------------------------------------------

    async def write_partition(self, attempts: Sequence[Attempt]) -> list[tuple[int, str]]:
        """Write rows of one partition (same drop and bucket) in one request: an UNLOGGED
        batch, which Cassandra applies to a single partition atomically and as cheaply as one
        write. Returns ``(index, reason)`` of the rows the driver could not encode (not
        written); raises :data:`StoreErrors` (retry the whole call: the rows are idempotent).
        """
        first = attempts[0]
        await self._ensure_bucket(*first.partition)
        bound, rejected = [], []
        for i, attempt in enumerate(attempts):
            if attempt.partition != first.partition:
                raise ValueError("write_partition takes rows of one partition")
            try:
                bound.append(self._insert.bind((*attempt.values(), attempt.write_timestamp_us)))
            except BIND_ERRORS as exc:
                rejected.append((i, f"values do not encode: {exc}"))
        if len(bound) == 1:
            await aio(self.session.execute_async(bound[0]))
        elif bound:
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            for statement in bound:
                batch.add(statement)
            batch.is_idempotent = True
            await aio(self.session.execute_async(batch))
        return rejected

    async def _ensure_bucket(self, drop: str, bucket: int) -> None:
        key = (drop, bucket)
        known = self._known_buckets.get(key)
        if known is not None:
            self._known_buckets.move_to_end(key)
            if not known.done() or (not known.cancelled() and known.exception() is None):
                await asyncio.shield(known)
                return
        # First writer of this bucket (or the last try failed): write it, others wait on it.
        pending = aio(self.session.execute_async(self._insert_bucket, (drop, bucket)))
        self._known_buckets[key] = pending
        while len(self._known_buckets) > self.BUCKET_CACHE:
            self._known_buckets.popitem(last=False)
        try:
            await asyncio.shield(pending)
        except BaseException:
            if self._known_buckets.get(key) is pending:
                del self._known_buckets[key]
            raise

    # --- reads ----------------------------------------------------------------------------

    async def buckets(self, drop: str, first: int = 0) -> list[int]:
        """The buckets of ``drop`` that hold rows, from ``first`` on, ascending."""
        rows = await aio(self.session.execute_async(self._buckets, (drop, first)))
        return [row.bucket for row in rows]

    async def rows(
        self, drop: str, bucket: int, after: tuple[int, str] | None, limit: int
    ) -> list[Attempt]:
        """Up to ``limit`` rows of one bucket in (decided_ms, event_id) order, after ``after``."""
        if after is None:
            bound = self._rows.bind((drop, bucket, limit))
        else:
            bound = self._rows_after.bind((drop, bucket, after[0], after[1], limit))
        bound.fetch_size = limit + 1  # one page: no paging state to follow
        rows: Sequence[Any] = await aio(self.session.execute_async(bound))
        return [attempt_from_row(row) for row in rows]
