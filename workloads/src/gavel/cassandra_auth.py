"""Who a Cassandra client is: the audit trail's roles, their logins and the driver's settings.

The audit keyspace is reached by three roles (rights in docs/security.md, "Data stores:
Cassandra"): the audit writer's ``writer`` (MODIFY and SELECT on the keyspace), the ``reader``
of ``gavel audit show|verify`` and ``gavel drops results`` (SELECT only), and the ``admin``
that applies the schema (``gavel audit migrate``). This module names them, reads a role's login
and the CA file from the environment (variable names in :mod:`gavel.endpoints`) and turns them
into an SSL context (the driver's options are built in :mod:`gavel.audit.store`, the only
module that imports the driver). Used by :mod:`gavel.audit.settings` and
:mod:`gavel.audit.store`, the CLI, the operator's rendering and the local stack. Pure apart from
reading ``os.environ`` and :func:`ssl_context` reading a file.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

from gavel import endpoints

WRITER = "writer"
READER = "reader"
ADMIN = "admin"
ROLES: tuple[str, ...] = (WRITER, READER, ADMIN)
"""One Cassandra role per kind of client; every process of a kind shares it."""


def username(role: str) -> str:
    """The Cassandra role name of ``role``: ``gavel_writer``, ``gavel_reader``, ``gavel_admin``."""
    if role not in ROLES:
        raise ValueError(f"unknown Cassandra role {role!r}; one of {', '.join(ROLES)}")
    return f"gavel_{role}"


@dataclass(frozen=True, slots=True)
class CassandraLogin:
    """A role's user name and password (PasswordAuthenticator)."""

    username: str
    password: str

    def __post_init__(self) -> None:
        if not self.username or not self.password:
            raise ValueError("a Cassandra login needs a user name and a password")

    def __repr__(self) -> str:
        # Never print the password (settings objects end up in logs and tracebacks).
        return f"CassandraLogin(username={self.username!r})"


def login_from_env(role: str, env: Mapping[str, str] | None = None) -> CassandraLogin | None:
    """``role``'s login from the environment; None when its user variable is unset (a
    Cassandra without authentication). A user without a password is an error."""
    source = os.environ if env is None else env
    user_var = endpoints.cassandra_user_var(role)
    user = source.get(user_var)
    if not user:
        return None
    password_var = endpoints.cassandra_password_var(role)
    password = source.get(password_var)
    if not password:
        raise endpoints.MissingEndpointError(f"{user_var} is set but {password_var} is not")
    return CassandraLogin(user, password)


def ca_file_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """The CA file of client encryption; None: plain connections (only on one host)."""
    return (os.environ if env is None else env).get(endpoints.CASSANDRA_CA_FILE) or None


def to_env(role: str, login: CassandraLogin | None, ca_file: str | None) -> dict[str, str]:
    """The variables :func:`login_from_env` and :func:`ca_file_from_env` read back."""
    env: dict[str, str] = {}
    if login is not None:
        env[endpoints.cassandra_user_var(role)] = login.username
        env[endpoints.cassandra_password_var(role)] = login.password
    if ca_file:
        env[endpoints.CASSANDRA_CA_FILE] = ca_file
    return env


def ssl_context(ca_file: str) -> ssl.SSLContext:
    """A client context that trusts only ``ca_file`` and checks the node's host name."""
    return ssl.create_default_context(cafile=ca_file)


def _quoted(text: str) -> str:
    """A CQL string literal (a single quote is doubled)."""
    return "'" + text.replace("'", "''") + "'"


def password_statement(name: str, password: str) -> str:
    """CQL giving the existing role ``name`` a new password (run by a superuser)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,47}", name):
        raise ValueError(f"invalid role name {name!r}")
    if not password:
        raise ValueError(f"empty password for Cassandra role {name}")
    return f"ALTER ROLE {name} WITH PASSWORD = {_quoted(password)}"


def role_statements(passwords: Mapping[str, str]) -> tuple[str, ...]:
    """CQL creating (or re-keying) the login role of each role in ``passwords``; run by a
    superuser. The rights are :func:`grant_statements`'."""
    statements = []
    for role, password in passwords.items():
        name = username(role)
        rekey = password_statement(name, password)
        secret = _quoted(password)
        statements += [
            f"CREATE ROLE IF NOT EXISTS {name} WITH LOGIN = true AND PASSWORD = {secret}",
            rekey,
        ]
    return tuple(statements)


def _keyspace(keyspace: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,47}", keyspace):
        raise ValueError(f"invalid keyspace name {keyspace!r}")
    return f"KEYSPACE {keyspace}"


def client_grant_statements(keyspace: str) -> tuple[str, ...]:
    """The clients' rights on ``keyspace``: the writer modifies and reads it, the reader only
    reads it. Run by whoever may grant on it: the admin that created it (``gavel audit
    migrate`` does, after the schema) or a superuser."""
    ks = _keyspace(keyspace)
    writer, reader = username(WRITER), username(READER)
    return (
        f"GRANT MODIFY ON {ks} TO {writer}",
        f"GRANT SELECT ON {ks} TO {writer}",
        f"GRANT SELECT ON {ks} TO {reader}",
    )


def admin_grant_statements() -> tuple[str, ...]:
    """What the admin needs from a superuser: creating keyspaces. A keyspace it creates is its
    own (Cassandra grants every right on it to its creator), so it can grant the clients."""
    return (f"GRANT CREATE ON ALL KEYSPACES TO {username(ADMIN)}",)


def grant_statements(keyspace: str) -> tuple[str, ...]:
    """Every role's rights, as data (docs/security.md, "Data stores: Cassandra"), for a
    superuser to run on a keyspace the admin did not create: the admin gets what a creator
    gets (it reads and writes ``schema_migrations`` too), the clients
    :func:`client_grant_statements`."""
    ks = _keyspace(keyspace)
    return (
        *admin_grant_statements(),
        f"GRANT ALL PERMISSIONS ON {ks} TO {username(ADMIN)}",
        *client_grant_statements(keyspace),
    )
