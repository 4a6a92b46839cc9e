"""The audit schema migration on the real Cassandra: twice, and several at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

from gavel import cassandra_auth
from gavel.audit import schema
from gavel.audit.store import connect
from gavel_devstack.harness.audit import drop_keyspace, target
from gavel_devstack.harness.stack_env import Stack


def _migrate_in_own_session(stack: Stack, keyspace: str) -> schema.MigrationReport:
    cluster, session = connect(target(stack, keyspace, role=cassandra_auth.ADMIN))
    try:
        return schema.migrate(session, keyspace, {stack.cassandra_dc: 1})
    finally:
        cluster.shutdown()


async def test_migrations_run_concurrently_and_again_leave_one_schema(stack: Stack) -> None:
    keyspace = f"audit_mig_{uuid.uuid4().hex[:10]}"
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(3) as pool:
        reports = await asyncio.gather(
            *(
                loop.run_in_executor(pool, _migrate_in_own_session, stack, keyspace)
                for _ in range(3)
            )
        )
    assert all(r.version == schema.LATEST_VERSION for r in reports)
    again = _migrate_in_own_session(stack, keyspace)
    assert again.applied == ()
    assert again.already == tuple(m.version for m in schema.MIGRATIONS)
    assert again.replication == schema.replication_map({stack.cassandra_dc: 1})

    cluster, session = connect(target(stack, keyspace, role=cassandra_auth.ADMIN))
    try:
        tables = {
            (row.table_name, row.id)
            for row in session.execute(
                "SELECT table_name, id FROM system_schema.tables WHERE keyspace_name = %s",
                (keyspace,),
            )
        }
        assert tables == {
            (t, schema.table_id(keyspace, t))
            for t in (schema.ATTEMPTS, schema.BUCKETS, schema.MIGRATIONS_TABLE)
        }
        rows = session.execute(f"SELECT version FROM {keyspace}.schema_migrations")  # noqa: S608
        assert sorted(r.version for r in rows) == [m.version for m in schema.MIGRATIONS]
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
        cluster.shutdown()


def test_gavel_audit_migrate_reports_what_it_did(stack: Stack) -> None:
    keyspace = f"audit_cli_{uuid.uuid4().hex[:10]}"

    def migrate() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gavel", "audit", "migrate", "--keyspace", keyspace],
            capture_output=True,
            text=True,
            env={**os.environ, **stack.env},
            check=False,
            timeout=120,
        )

    try:
        first = migrate()
        assert first.returncode == 0, first.stderr
        assert f"{keyspace}: schema version {schema.LATEST_VERSION}; applied 1" in first.stdout
        # The admin made the keyspace, so it lets the clients in.
        assert f"granted: SELECT ON KEYSPACE {keyspace} TO gavel_reader" in first.stdout
        second = migrate()
        assert second.returncode == 0, second.stderr
        assert "applied nothing (already up to date)" in second.stdout
    finally:
        drop_keyspace(stack, keyspace)


def test_gavel_audit_migrate_says_when_cassandra_is_not_there(stack: Stack) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "gavel",
            "audit",
            "migrate",
            "--cassandra-contact",
            "127.0.0.1:1",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **stack.env},
        check=False,
        timeout=60,
    )
    assert out.returncode == 1
    assert "cannot reach Cassandra at 127.0.0.1:1" in out.stderr
