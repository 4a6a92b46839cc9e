"""Cassandra authentication of the local stack: the roles' passwords, the superuser, the grants.

The stack's Cassandra runs ``PasswordAuthenticator`` and ``CassandraAuthorizer``
(:func:`gavel_devstack.configs.cassandra_yaml`), so every client logs in as one of the roles of
:mod:`gavel.cassandra_auth` and may do only what that role may (docs/security.md, "Data stores:
Cassandra"). Passwords are made once per run folder and kept in ``<run>/cassandra/users.json``
(mode 600), with the one of the built-in superuser ``cassandra``: Cassandra creates it with the
password ``cassandra`` on first start, and :func:`set_up` gives it the generated one before
anything else, so the well-known password opens nothing for longer than the first start.

Once the node answers, :func:`set_up` (as the superuser) creates the roles and lets the admin
create keyspaces, then (as the admin, as ``gavel audit migrate`` would) applies the audit schema
to the default keyspace and grants the writer and the reader their rights on it; tests prepare
their own keyspaces the same way (:func:`gavel_devstack.harness.audit.prepare_keyspace`).

Called by :mod:`gavel_devstack.components` (probe and ready hook), :mod:`gavel_devstack.stack`
(env lines) and the test harness (a role's login).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from gavel import cassandra_auth, endpoints
from gavel.audit import schema
from gavel.audit.settings import CassandraTarget
from gavel.cassandra_auth import CassandraLogin
from gavel_devstack import probes

SUPERUSER = "cassandra"
"""The superuser Cassandra creates on first start, with this name as its password."""
DC = "datacenter1"
"""The one data centre of the stack's node (``SimpleSnitch``)."""


def users_file(run_dir: Path) -> Path:
    return run_dir / "cassandra" / "users.json"


def passwords(run_dir: Path) -> dict[str, str]:
    """Password per role of :data:`gavel.cassandra_auth.ROLES` and of :data:`SUPERUSER`, made
    on first use."""
    path = users_file(run_dir)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        made = {role: secrets.token_urlsafe(24) for role in (*cassandra_auth.ROLES, SUPERUSER)}
        path.write_text(json.dumps(made, indent=2) + "\n")
        path.chmod(0o600)
    stored: dict[str, str] = json.loads(path.read_text())
    return stored


def login(run_dir: Path, role: str) -> CassandraLogin:
    """``role``'s login (``writer``, ``reader``, ``admin``) for a loopback client."""
    return CassandraLogin(cassandra_auth.username(role), passwords(run_dir)[role])


def superuser_login(run_dir: Path) -> CassandraLogin:
    return CassandraLogin(SUPERUSER, passwords(run_dir)[SUPERUSER])


def env_lines(run_dir: Path) -> list[str]:
    """Every role's user and password, as the workloads and the CLI read them."""
    lines = []
    for role in cassandra_auth.ROLES:
        lines += [
            f"{endpoints.cassandra_user_var(role)}={cassandra_auth.username(role)}",
            f"{endpoints.cassandra_password_var(role)}={passwords(run_dir)[role]}",
        ]
    return lines


def _target(port: int, who: CassandraLogin, keyspace: str = schema.KEYSPACE) -> CassandraTarget:
    return CassandraTarget("127.0.0.1", port, DC, keyspace, login=who)


def superuser_can_log_in(port: int, run_dir: Path) -> bool:
    """The node takes the superuser's login, with its generated password or, on the first
    start, the built-in one: Cassandra is up and its auth tables are set up."""
    if not probes.port_open(port):
        return False
    from gavel.audit.store import StoreErrors, connect  # noqa: PLC0415 - slow import

    for who in (superuser_login(run_dir), CassandraLogin(SUPERUSER, SUPERUSER)):
        try:
            cluster, _ = connect(_target(port, who), request_timeout_s=5)
        except StoreErrors:
            continue
        cluster.shutdown()
        return True
    return False


def set_up(port: int, run_dir: Path) -> None:
    """Make the node's roles match the run folder (re-keying is idempotent), then the default
    audit keyspace as the admin makes it in production."""
    from gavel.audit.store import StoreErrors, connect  # noqa: PLC0415

    root = superuser_login(run_dir)
    try:
        cluster, session = connect(_target(port, root))
    except StoreErrors:
        # First start: only the built-in password works; replace it before anything else.
        cluster, session = connect(_target(port, CassandraLogin(SUPERUSER, SUPERUSER)))
        session.execute(cassandra_auth.password_statement(SUPERUSER, root.password))
    try:
        roles = {role: passwords(run_dir)[role] for role in cassandra_auth.ROLES}
        statements = [
            *cassandra_auth.role_statements(roles),
            *cassandra_auth.admin_grant_statements(),
        ]
        if _keyspace_exists(session, schema.KEYSPACE):
            # Made by a run folder from before logins: the admin is not its creator.
            statements += cassandra_auth.grant_statements(schema.KEYSPACE)
        for statement in statements:
            session.execute(statement)
    finally:
        cluster.shutdown()
    prepare_keyspace(port, run_dir, schema.KEYSPACE)


def _keyspace_exists(session: Any, keyspace: str) -> bool:
    query = "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = %s"
    return session.execute(query, (keyspace,)).one() is not None


def prepare_keyspace(port: int, run_dir: Path, keyspace: str) -> None:
    """``keyspace`` with the audit schema, made by the admin, the writer and reader let in:
    what ``gavel audit migrate`` does with the admin's login."""
    from gavel.audit.store import connect  # noqa: PLC0415

    cluster, session = connect(_target(port, login(run_dir, cassandra_auth.ADMIN), keyspace))
    try:
        schema.migrate(session, keyspace, {DC: 1})
        schema.grant_clients(session, keyspace)
    finally:
        cluster.shutdown()
