"""The audit trail's Cassandra roles on the stack's real Cassandra (authentication and
authorization on): each role may do what docs/security.md says and is refused the rest, in
words that name the user and never the password."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import replace

import pytest
from cassandra import Unauthorized

from gavel import cassandra_auth
from gavel.audit import schema
from gavel.audit.store import StoreErrors, connect, describe
from gavel.cassandra_auth import CassandraLogin
from gavel_devstack.harness.audit import target
from gavel_devstack.harness.stack_env import Stack

INSERT = "INSERT INTO {ks}.attempt_buckets (drop_id, bucket) VALUES ('forged', 0)"


def test_the_reader_reads_and_is_refused_every_write(stack: Stack, audit_keyspace: str) -> None:
    reader = target(stack, audit_keyspace, role=cassandra_auth.READER)
    cluster, session = connect(reader)
    try:
        session.execute(f"SELECT drop_id FROM {audit_keyspace}.attempt_buckets LIMIT 1")  # noqa: S608
        with pytest.raises(Unauthorized) as refused:
            session.execute(INSERT.format(ks=audit_keyspace))
        said = describe(refused.value, reader)
        assert said.startswith("Cassandra refused gavel_reader this request (its role lacks")
        assert reader.login is not None
        assert reader.login.password not in said
    finally:
        cluster.shutdown()


def test_the_writer_writes_and_may_not_touch_the_schema(stack: Stack, audit_keyspace: str) -> None:
    cluster, session = connect(target(stack, audit_keyspace))
    try:
        session.execute(INSERT.format(ks=audit_keyspace))
        with pytest.raises(Unauthorized):
            session.execute(f"DROP TABLE {audit_keyspace}.attempt_buckets")
        with pytest.raises(Unauthorized):
            session.execute(
                "CREATE KEYSPACE gavel_rogue WITH replication = "
                f"{{'class': 'NetworkTopologyStrategy', '{stack.cassandra_dc}': 1}}"
            )
        # Nor can it read or write a keyspace it was not granted.
        with pytest.raises(Unauthorized):
            session.execute("SELECT role FROM system_auth.roles")
    finally:
        cluster.shutdown()


def test_a_migrated_keyspace_is_only_read_when_the_writer_migrates(
    stack: Stack, audit_keyspace: str
) -> None:
    """The writer started with --migrate (the default) against a keyspace the admin already
    migrated: nothing to apply, so it runs no DDL it would be refused."""
    cluster, session = connect(target(stack, audit_keyspace))
    try:
        report = schema.migrate(session, audit_keyspace, {stack.cassandra_dc: 1})
    finally:
        cluster.shutdown()
    assert report.applied == ()
    assert report.version == schema.LATEST_VERSION


def test_a_wrong_password_is_refused_by_name_without_echoing_it(
    stack: Stack, audit_keyspace: str
) -> None:
    writer = target(stack, audit_keyspace)
    wrong = replace(writer, login=CassandraLogin("gavel_writer", "not-the-password"))
    with pytest.raises(StoreErrors) as refused:
        connect(wrong)
    said = describe(refused.value, wrong)
    where = f"{wrong.host}:{wrong.port}"
    assert said.startswith(f"Cassandra at {where} refused the login of gavel_writer")
    assert "not-the-password" not in said


def test_gavel_audit_show_logs_in_as_the_reader_and_an_anonymous_client_is_refused(
    stack: Stack, audit_keyspace: str
) -> None:
    def show(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        drop = f"nobody-{uuid.uuid4().hex[:6]}"
        return subprocess.run(
            [sys.executable, "-m", "gavel", "audit", "show", drop, "--keyspace", audit_keyspace],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=120,
        )

    base = {**os.environ, **stack.env}
    ok = show(base)
    assert ok.returncode == 0, ok.stderr
    anonymous = {k: v for k, v in base.items() if not k.startswith("CASSANDRA_USER_")}
    refused = show(anonymous)
    assert refused.returncode == 1
    assert "refused the login of an anonymous client" in refused.stderr
