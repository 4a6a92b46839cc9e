"""Cassandra on the local stack: keyspace per data centre, table, write and read back."""

from __future__ import annotations

import uuid

from gavel import cassandra_auth
from gavel.audit.store import connect
from gavel_devstack.harness.stack_env import Stack


def test_write_and_read_back_through_network_topology_keyspace(stack: Stack) -> None:
    # The admin role may create keyspaces (and owns what it creates).
    cluster, session = connect(stack.cassandra_target(cassandra_auth.ADMIN))
    try:
        session.execute(
            "CREATE KEYSPACE IF NOT EXISTS gavel_smoke WITH replication = "
            f"{{'class': 'NetworkTopologyStrategy', '{stack.cassandra_dc}': 1}}"
        )
        session.execute("CREATE TABLE IF NOT EXISTS gavel_smoke.kv (k text PRIMARY KEY, v bigint)")
        key = uuid.uuid4().hex
        insert = session.prepare("INSERT INTO gavel_smoke.kv (k, v) VALUES (?, ?)")
        session.execute(insert, (key, 4200))
        row = session.execute("SELECT v FROM gavel_smoke.kv WHERE k = %s", (key,)).one()
        assert row.v == 4200
        version = session.execute("SELECT release_version FROM system.local").one()
        assert version.release_version.startswith("5.0")
    finally:
        cluster.shutdown()
