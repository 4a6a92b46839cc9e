"""Who a Kafka client is: the principals of Gavel's workloads and their client settings.

Every region's Kafka authenticates each workload as its own SASL/SCRAM user and lets it do only
what its job needs (the rights are in :mod:`gavel.kafka_acls`). This module names the users,
turns a credential into aiokafka settings and reads a workload's credential from the
environment (variable names in :mod:`gavel.endpoints`). Used by :mod:`gavel.kafka_clients`, the
workload CLIs, the MirrorMaker renderer's callers, the operator's rendering and the local stack.
Pure apart from :func:`from_env` reading ``os.environ`` and :func:`ssl_context` reading a file.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gavel import endpoints

MECHANISM = "SCRAM-SHA-512"
"""The SASL mechanism of every client listener (the controller listener uses PLAIN: KRaft
controllers must authenticate before the metadata holding SCRAM credentials is loaded)."""

SASL_PLAINTEXT = "SASL_PLAINTEXT"
SASL_SSL = "SASL_SSL"
PLAINTEXT = "PLAINTEXT"
PROTOCOLS = (SASL_PLAINTEXT, SASL_SSL, PLAINTEXT)

RELAY = "relay"
FANOUT = "fanout"
AUDIT_WRITER = "audit-writer"
MIRROR = "mirror"
ADMIN = "admin"
ROLES: tuple[str, ...] = (RELAY, FANOUT, AUDIT_WRITER, MIRROR, ADMIN)
"""One Kafka user per role; every process of a role shares it."""


def username(role: str) -> str:
    """The SCRAM user of ``role``: ``gavel-relay``, ``gavel-admin``, ..."""
    if role not in ROLES:
        raise ValueError(f"unknown Kafka role {role!r}; one of {', '.join(ROLES)}")
    return f"gavel-{role}"


def principal(role: str) -> str:
    """The principal Kafka's authorizer sees for ``role``'s user."""
    return f"User:{username(role)}"


@dataclass(frozen=True, slots=True)
class KafkaAuth:
    """A client's credential and transport. ``ca_file``: the CA that signed the brokers'
    certificates (SASL_SSL only)."""

    username: str
    password: str
    protocol: str = SASL_PLAINTEXT
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if self.protocol not in {SASL_PLAINTEXT, SASL_SSL}:
            raise ValueError(
                f"Kafka security protocol {self.protocol!r}: SASL_PLAINTEXT or SASL_SSL"
            )
        if not self.username or not self.password:
            raise ValueError("a Kafka credential needs a user name and a password")
        if self.protocol == SASL_SSL and not self.ca_file:
            raise ValueError("SASL_SSL needs the CA file that signed the brokers' certificates")

    def __repr__(self) -> str:
        # Never print the password (settings objects end up in logs and tracebacks).
        return f"KafkaAuth(username={self.username!r}, protocol={self.protocol!r})"


def ssl_context(ca_file: str) -> ssl.SSLContext:
    """A client context that trusts only ``ca_file`` and checks the broker's host name."""
    return ssl.create_default_context(cafile=ca_file)


def client_settings(auth: KafkaAuth | None) -> dict[str, Any]:
    """aiokafka keyword arguments for ``auth``; none means an unauthenticated PLAINTEXT client."""
    if auth is None:
        return {}
    settings: dict[str, Any] = {
        "security_protocol": auth.protocol,
        "sasl_mechanism": MECHANISM,
        "sasl_plain_username": auth.username,
        "sasl_plain_password": auth.password,
    }
    if auth.protocol == SASL_SSL and auth.ca_file:
        settings["ssl_context"] = ssl_context(auth.ca_file)
    return settings


def to_env(role: str, auth: KafkaAuth | None) -> dict[str, str]:
    """The variables :func:`from_env` reads back as ``auth`` (empty for no authentication)."""
    if auth is None:
        return {}
    env = {
        endpoints.kafka_user_var(role): auth.username,
        endpoints.kafka_password_var(role): auth.password,
        endpoints.KAFKA_SECURITY_PROTOCOL: auth.protocol,
    }
    if auth.ca_file:
        env[endpoints.KAFKA_CA_FILE] = auth.ca_file
    return env


def from_env(role: str, env: Mapping[str, str] | None = None) -> KafkaAuth | None:
    """``role``'s credential from the environment; None when its user variable is unset
    (a Kafka without authentication). A user without a password is an error."""
    source = os.environ if env is None else env
    user = source.get(endpoints.kafka_user_var(role))
    if not user:
        return None
    password_var = endpoints.kafka_password_var(role)
    password = source.get(password_var)
    if not password:
        raise endpoints.MissingEndpointError(
            f"{endpoints.kafka_user_var(role)} is set but {password_var} is not"
        )
    protocol = source.get(endpoints.KAFKA_SECURITY_PROTOCOL) or SASL_PLAINTEXT
    return KafkaAuth(user, password, protocol, source.get(endpoints.KAFKA_CA_FILE) or None)
