"""Cassandra logins and client encryption in the rendered topology. Pure.

Called by :mod:`gavel_operator.rendering`. The audit writer, the only rendered Cassandra
client, gets the writer role's login from the Secret the Region names
(``spec.endpoints.cassandra.users.writer``, keys ``username`` and ``password``) under the
variable names of :mod:`gavel.endpoints`, which :func:`gavel.cassandra_auth.login_from_env`
reads; no pod holds the reader's. With a login it starts with ``--no-migrate``: the writer role
may not change the schema, the admin applies it (``gavel audit migrate``). With
``spec.endpoints.cassandra.caSecret`` it uses client encryption and trusts only that CA,
mounted read-only, the same shape as Kafka's ``caSecret`` (:mod:`gavel_operator.rendering_kafka`).
"""

from __future__ import annotations

from gavel import cassandra_auth, endpoints
from gavel.resources.region import Cassandra
from gavel_operator.rendering_parts import Obj, mount_secret_where

CA_DIR = "/etc/gavel/cassandra-ca"
CA_VOLUME = "cassandra-ca"
WRITER_COMMAND = "audit-writer"
"""The one rendered ``gavel`` command that reaches Cassandra."""


def ca_file(cassandra: Cassandra) -> str | None:
    return f"{CA_DIR}/{cassandra.ca_secret.key}" if cassandra.ca_secret else None


def container_env(cassandra: Cassandra | None, command: str) -> list[Obj]:
    """The env entries giving ``gavel <command>`` its Cassandra login and CA (none for
    commands other than the audit writer)."""
    if cassandra is None or command != WRITER_COMMAND:
        return []
    env: list[Obj] = []
    if cassandra.users is not None:
        secret, role = cassandra.users.writer, cassandra_auth.WRITER
        env += [
            {
                "name": endpoints.cassandra_user_var(role),
                "valueFrom": {"secretKeyRef": {"name": secret, "key": "username"}},
            },
            {
                "name": endpoints.cassandra_password_var(role),
                "valueFrom": {"secretKeyRef": {"name": secret, "key": "password"}},
            },
        ]
    ca = ca_file(cassandra)
    if ca:
        env.append({"name": endpoints.CASSANDRA_CA_FILE, "value": ca})
    return env


def writer_args(cassandra: Cassandra | None) -> tuple[str, ...]:
    """Flags of the audit writer: no schema changes when it logs in as the writer role."""
    return ("--no-migrate",) if cassandra is not None and cassandra.users is not None else ()


def with_ca(objects: list[Obj], cassandra: Cassandra | None) -> list[Obj]:
    """Mount the CA Secret into every container whose env names the CA file; changes
    ``objects`` in place."""
    if cassandra is None or cassandra.ca_secret is None:
        return objects
    return mount_secret_where(
        objects, endpoints.CASSANDRA_CA_FILE, cassandra.ca_secret.name, CA_VOLUME, CA_DIR
    )
