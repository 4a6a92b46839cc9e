"""The audit trail's Cassandra schema and its versioned, idempotent migration.

The one module that knows the keyspace, tables and columns. Called by ``gavel audit migrate``,
by the audit writer at start (:func:`gavel.audit.service.run`) and by tests; the CQL text and
the replication settings are pure functions, :func:`migrate` runs them on a driver session.

Tables (docs/audit.md says why):

* ``bid_attempts`` — one row per decided attempt, partitioned by ``(drop_id, bucket)`` where
  ``bucket`` is the start (ms) of the :data:`BUCKET_MS` window the attempt was decided in,
  clustered by ``(decided_ms, event_id)``. Rows are written once per event id and never
  changed: a replayed event lands on the same primary key with the same values.
* ``attempt_buckets`` — which buckets of a drop hold rows (one small partition per drop), so a
  reader walks a drop's trail without guessing time ranges.
* ``schema_migrations`` — which schema versions have been applied.

Version 2 adds the audit hash chain's columns to an existing ``bid_attempts`` (``ALTER TABLE
... ADD IF NOT EXISTS``: old rows read them as null).

Running :func:`migrate` twice, or from several writers at once, is safe: every statement is
``CREATE ... IF NOT EXISTS`` or ``ADD IF NOT EXISTS``, every table carries a deterministic id
(``WITH ID``, derived from its name) so two coordinators creating it at once agree on it, and
the driver waits for schema agreement after each change before the next one.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gavel import cassandra_auth

log = logging.getLogger(__name__)

KEYSPACE = "gavel_audit"
ATTEMPTS = "bid_attempts"
BUCKETS = "attempt_buckets"
MIGRATIONS_TABLE = "schema_migrations"

BUCKET_MS = 60_000
"""Width of a partition's time window: one minute of decided time.

Part of the schema (rows must land on the same key when replayed): changing it means a new
table in a new migration. A minute bounds a drop's hottest partition by how fast one drop can
be decided (one Redis script at a time): even 2 000 attempts/s for a whole minute make 120 000
rows, about 30 MB; a quiet drop makes one small partition per minute in which it saw bids."""

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_TABLE_ID_NAMESPACE = uuid.UUID("8f0c8f5e-4a5d-4c59-9d8e-0a7c1f3b6a11")


class SchemaError(RuntimeError):
    """The schema could not be brought to the expected version (e.g. no schema agreement)."""


def check_name(name: str) -> str:
    """``name`` if it is a valid unquoted Cassandra keyspace name, else ValueError."""
    if not _NAME.match(name):
        raise ValueError(
            f"invalid keyspace name {name!r}: a-z, then a-z, 0-9 or _, at most 48 characters"
        )
    return name


def parse_replication(text: str) -> dict[str, int]:
    """``"dc1=3,dc2=3"`` (or ``dc1:3``) -> ``{"dc1": 3, "dc2": 3}``: replicas per data centre."""
    result: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, count = part.replace(":", "=").partition("=")
        name = name.strip()
        if not sep or not name or not count.strip().isdigit():
            raise ValueError(f"invalid replication {part!r}: expected DC=REPLICAS, e.g. us-east=3")
        if name in result:
            raise ValueError(f"data centre {name!r} named twice")
        replicas = int(count)
        if replicas < 1:
            raise ValueError(f"data centre {name!r}: replicas must be at least 1")
        result[name] = replicas
    if not result:
        raise ValueError("replication names no data centre")
    return result


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def replication_map(replication: Mapping[str, int]) -> dict[str, str]:
    """The keyspace's ``replication`` option as Cassandra stores it (all values strings)."""
    return {
        "class": "org.apache.cassandra.locator.NetworkTopologyStrategy",
        **{dc: str(n) for dc, n in replication.items()},
    }


def keyspace_cql(keyspace: str, replication: Mapping[str, int]) -> str:
    """``CREATE KEYSPACE IF NOT EXISTS`` with NetworkTopologyStrategy: one entry per DC."""
    if not replication:
        raise ValueError("replication names no data centre")
    dcs = ", ".join(f"{_quote(dc)}: {n}" for dc, n in sorted(replication.items()))
    return (
        f"CREATE KEYSPACE IF NOT EXISTS {check_name(keyspace)} WITH replication = "
        f"{{'class': 'NetworkTopologyStrategy', {dcs}}} AND durable_writes = true"
    )


def table_id(keyspace: str, table: str) -> uuid.UUID:
    """The id every migrator gives ``keyspace.table``: the same on every coordinator, so two
    concurrent ``CREATE TABLE IF NOT EXISTS`` cannot leave two versions of one table."""
    return uuid.uuid5(_TABLE_ID_NAMESPACE, f"{keyspace}.{table}")


ATTEMPT_COLUMNS_V1: tuple[tuple[str, str], ...] = (
    ("drop_id", "text"),  # `drop` is a CQL keyword
    ("bucket", "bigint"),
    ("decided_ms", "bigint"),
    ("event_id", "text"),
    ("bidder", "text"),
    ("bid_id", "text"),
    ("amount", "bigint"),
    ("outcome", "text"),
    ("reason", "text"),
    ("seq", "bigint"),
    ("high_bid", "bigint"),
    ("leader", "text"),
    ("prev_leader", "text"),
    ("min_next", "bigint"),
    ("ends_at_ms", "bigint"),
    ("reserve_met", "boolean"),
    ("received_ms", "bigint"),
    ("region", "text"),
    ("schema_v", "int"),
)
"""The columns ``bid_attempts`` was created with (migration 1; frozen)."""

CHAIN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("chain_n", "bigint"),
    ("chain_prev", "text"),
    ("chain_hash", "text"),
)
"""The decision's link in its drop's audit hash chain (migration 2; null for edge decisions
and rows written before it)."""

ATTEMPT_COLUMNS = ATTEMPT_COLUMNS_V1 + CHAIN_COLUMNS
"""Every column of ``bid_attempts``, in the order the writer binds them."""

COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in ATTEMPT_COLUMNS)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]
    """CQL with ``{ks}`` for the keyspace and ``{id:<table>}`` for a table's id."""

    def render(self, keyspace: str) -> list[str]:
        ks = check_name(keyspace)
        out = []
        for statement in self.statements:
            text = statement.replace("{ks}", ks)
            for table in (ATTEMPTS, BUCKETS, MIGRATIONS_TABLE):
                text = text.replace(f"{{id:{table}}}", str(table_id(ks, table)))
            out.append(text)
        return out


_columns = ",\n    ".join(f"{name} {kind}" for name, kind in ATTEMPT_COLUMNS_V1)

MIGRATIONS_TABLE_CQL = (
    "CREATE TABLE IF NOT EXISTS {ks}.schema_migrations (\n"
    "    version int PRIMARY KEY,\n"
    "    description text,\n"
    "    applied_at timestamp\n"
    ") WITH ID = {id:schema_migrations}"
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "bid_attempts by (drop, minute bucket), clustered by (decided_ms, event_id); "
        "attempt_buckets index",
        (
            "CREATE TABLE IF NOT EXISTS {ks}.bid_attempts (\n"
            f"    {_columns},\n"
            "    PRIMARY KEY ((drop_id, bucket), decided_ms, event_id)\n"
            ") WITH CLUSTERING ORDER BY (decided_ms ASC, event_id ASC)\n"
            "  AND ID = {id:bid_attempts}\n"
            "  AND comment = 'Every decided bid attempt, written once per event id'",
            "CREATE TABLE IF NOT EXISTS {ks}.attempt_buckets (\n"
            "    drop_id text,\n"
            "    bucket bigint,\n"
            "    PRIMARY KEY (drop_id, bucket)\n"
            ") WITH CLUSTERING ORDER BY (bucket ASC)\n"
            "  AND ID = {id:attempt_buckets}\n"
            "  AND comment = 'Buckets of bid_attempts that hold rows, per drop'",
        ),
    ),
    Migration(
        2,
        "bid_attempts: the audit hash chain (chain_n, chain_prev, chain_hash)",
        tuple(
            f"ALTER TABLE {{ks}}.bid_attempts ADD IF NOT EXISTS {name} {kind}"
            for name, kind in CHAIN_COLUMNS
        ),
    ),
)
"""Every schema version, oldest first. Append; never edit an applied one."""

LATEST_VERSION = MIGRATIONS[-1].version


class Session(Protocol):
    """What :func:`migrate` needs of a ``cassandra.cluster.Session``."""

    def execute(self, query: str, parameters: Sequence[Any] | None = ...) -> Any: ...


@dataclass(frozen=True, slots=True)
class MigrationReport:
    keyspace: str
    applied: tuple[int, ...]
    """Versions this run applied."""
    already: tuple[int, ...]
    """Versions that were in place before."""
    replication: dict[str, str]
    """The keyspace's replication as Cassandra holds it (may differ from the request: an
    existing keyspace's replication is never changed here, that needs a repair plan)."""

    @property
    def version(self) -> int:
        return max(self.applied + self.already, default=0)


def _ddl(session: Session, statement: str) -> None:
    result = session.execute(statement)
    future = getattr(result, "response_future", None)
    if future is not None and future.is_schema_agreed is False:
        raise SchemaError(f"no schema agreement after: {statement.splitlines()[0]}")


def _held_replication(session: Session, ks: str) -> dict[str, str]:
    row = session.execute(
        "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s", (ks,)
    ).one()
    return dict(row.replication) if row is not None else {}


def _recorded_versions(session: Session, ks: str) -> set[int] | None:
    """The versions recorded in ``ks``; None when it has no migrations table yet. Only reads,
    so a role without schema rights (the audit writer with a login) can tell that nothing is
    left to do instead of being refused a ``CREATE ... IF NOT EXISTS``."""
    table = session.execute(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s AND table_name = %s",
        (ks, MIGRATIONS_TABLE),
    ).one()
    if table is None:
        return None
    try:
        rows = session.execute(f"SELECT version FROM {ks}.schema_migrations")  # noqa: S608
    except Exception:  # noqa: BLE001 - the driver's errors are not importable in this pure module
        # Another migrator's table can be in system_schema before the node serves it; the
        # full path below creates it again (IF NOT EXISTS) and waits for schema agreement.
        return None
    return {r.version for r in rows}


def migrate(session: Session, keyspace: str, replication: Mapping[str, int]) -> MigrationReport:
    """Bring ``keyspace`` to :data:`LATEST_VERSION`; safe to run twice or concurrently. A
    keyspace already there is only read (no DDL), so any role that may read it can run this."""
    ks = check_name(keyspace)
    recorded = _recorded_versions(session, ks)
    if recorded is not None and {m.version for m in MIGRATIONS} <= recorded:
        return MigrationReport(ks, (), tuple(sorted(recorded)), _held_replication(session, ks))
    _ddl(session, keyspace_cql(ks, replication))
    held = _held_replication(session, ks)
    if held != replication_map(replication):
        log.warning(
            "keyspace %s has replication %s, not the requested %s: left as it is",
            ks,
            held,
            replication_map(replication),
        )
    _ddl(
        session,
        MIGRATIONS_TABLE_CQL.replace("{ks}", ks).replace(
            "{id:schema_migrations}", str(table_id(ks, MIGRATIONS_TABLE))
        ),
    )
    # The keyspace name passed check_name: CQL built from it is safe (S608 below too).
    done = {r.version for r in session.execute(f"SELECT version FROM {ks}.schema_migrations")}  # noqa: S608
    applied = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        for statement in migration.render(ks):
            _ddl(session, statement)
        session.execute(
            f"INSERT INTO {ks}.schema_migrations (version, description, applied_at) "  # noqa: S608
            "VALUES (%s, %s, toTimestamp(now()))",
            (migration.version, migration.description),
        )
        applied.append(migration.version)
        log.info("audit schema %s: applied version %d", ks, migration.version)
    return MigrationReport(
        keyspace=ks,
        applied=tuple(applied),
        already=tuple(sorted(done)),
        replication=held,
    )


def grant_clients(session: Session, keyspace: str) -> tuple[str, ...]:
    """Give the audit writer and the readers their rights on ``keyspace`` (GRANT is
    idempotent); run as the admin that created it, after :func:`migrate`. Returns the
    statements it ran."""
    statements = cassandra_auth.client_grant_statements(check_name(keyspace))
    for statement in statements:
        session.execute(statement)
    return statements
