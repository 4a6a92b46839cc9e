"""Where a workload finds its servers: the environment variables' names and their readers.

Every workload command (``gavel gateway``, ``gavel relay``, ...) takes ``--region`` and reads
the variables named here from the environment; flags override them. The names are spelled only
in this module: the operator renders them into its Deployments' env
(:mod:`gavel_operator.rendering`) and the local stack prints them (``scripts/stack env``), so
local runs and production read configuration the same way. Pure apart from reading
``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from gavel import redis_url as redis_urls_
from gavel.redis_acl import Role

REGIONS = "GAVEL_REGIONS"
"""Comma-separated names of every region."""

JWKS = "GAVEL_JWKS"
"""Where the bidder-token public keys are: a JWKS URL or a mounted file's path (the gateway's)."""

TOKEN_ISSUER = "GAVEL_TOKEN_ISSUER"  # noqa: S105 - the variable's name, not a secret
"""The ``iss`` of bidder tokens: the identity provider that signs them (the gateway's)."""

TOKEN_MINT_URL = "GAVEL_TOKEN_MINT_URL"  # noqa: S105 - the variable's name, not a secret
"""The local stack's issuer endpoint that signs tokens for any bidder (``gavel token mint``, the
herd); a stand-in for logging in at the real identity provider, never set in production."""

CASSANDRA_CONTACT = "CASSANDRA_CONTACT"
"""``host:port`` of a Cassandra node of this region (the audit writer's)."""

CASSANDRA_DC = "CASSANDRA_DC"
"""This region's Cassandra data centre (the audit writer's)."""

CASSANDRA_CA_FILE = "CASSANDRA_CA_FILE"
"""PEM file of the CA that signed the Cassandra nodes' certificates: client encryption on."""

AUDIT_REPLICATION = "GAVEL_AUDIT_REPLICATION"
"""Replicas per DC for an audit keyspace created by a writer, ``DC=N,...``."""

HUB_KUBECONFIG = "KUBECONFIG_HUB"
"""Path of a kubeconfig for the hub cluster, where Drops and Regions live (the merch console's)."""

KAFKA_SECURITY_PROTOCOL = "KAFKA_SECURITY_PROTOCOL"
"""``SASL_PLAINTEXT`` (default when a Kafka user is set) or ``SASL_SSL``."""

KAFKA_CA_FILE = "KAFKA_CA_FILE"
"""PEM file of the CA that signed the brokers' certificates (``SASL_SSL``)."""

REDIS_CA_FILE = "REDIS_CA_FILE"
"""PEM file of the CA that signed the Redis servers' and Sentinels' certificates: TLS on."""

_REDIS_URL_PREFIX = "REDIS_URL_"
_REDIS_AUTH_PREFIX = "REDIS_AUTH_"
_KAFKA_BOOTSTRAP_PREFIX = "KAFKA_BOOTSTRAP_"


def redis_url_var(region: str) -> str:
    """The variable holding ``region``'s Redis URL, e.g. ``REDIS_URL_US``."""
    return _REDIS_URL_PREFIX + region.upper()


def redis_auth_var(role: Role) -> str:
    """The variable holding ``role``'s Redis login ``USER:PASSWORD``, e.g. ``REDIS_AUTH_GATEWAY``.

    One login per role for every region's Redis (a gateway may serve drops homed elsewhere);
    unset means the URL is used as it is (credentials in it, or none).
    """
    return _REDIS_AUTH_PREFIX + role.value.upper()


def kafka_bootstrap_var(region: str) -> str:
    """The variable holding ``region``'s Kafka bootstrap servers, e.g. ``KAFKA_BOOTSTRAP_US``."""
    return _KAFKA_BOOTSTRAP_PREFIX + region.upper()


def kafka_user_var(role: str) -> str:
    """The variable holding the Kafka user of a workload role, e.g. ``KAFKA_USER_AUDIT_WRITER``."""
    return "KAFKA_USER_" + role.upper().replace("-", "_")


def kafka_password_var(role: str) -> str:
    """The variable holding that user's password, e.g. ``KAFKA_PASSWORD_RELAY``."""
    return "KAFKA_PASSWORD_" + role.upper().replace("-", "_")


def cassandra_user_var(role: str) -> str:
    """The variable holding a Cassandra role's user name, e.g. ``CASSANDRA_USER_WRITER``."""
    return "CASSANDRA_USER_" + role.upper()


def cassandra_password_var(role: str) -> str:
    """The variable holding that role's password, e.g. ``CASSANDRA_PASSWORD_READER``."""
    return "CASSANDRA_PASSWORD_" + role.upper()


class MissingEndpointError(LookupError):
    """A variable the command needs is not set; the message says which and how to set it."""


def _get(name: str, env: Mapping[str, str] | None, flag: str | None) -> str:
    # Each reader takes the flag that overrides its variable, for the message. The defaults are
    # the flags every command reading that variable has; only `gavel relay` has --redis-url.
    value = (os.environ if env is None else env).get(name)
    if not value:
        instead = f" or pass {flag}" if flag else ""
        raise MissingEndpointError(f"{name} is not set: set it in the environment{instead}")
    return value


def regions(env: Mapping[str, str] | None = None, *, flag: str | None = None) -> list[str]:
    return _get(REGIONS, env, flag).split(",")


def redis_url(
    region: str,
    env: Mapping[str, str] | None = None,
    *,
    flag: str | None = None,
    role: Role | None = None,
) -> str:
    """``region``'s Redis URL, logging in as ``role`` when its variable is set."""
    return login(_get(redis_url_var(region), env, flag), role, env)


def login(url: str, role: Role | None, env: Mapping[str, str] | None = None) -> str:
    """``url`` logging in as ``role`` when ``REDIS_AUTH_<ROLE>`` is set (replacing credentials
    the URL carried, so a URL given by flag still runs the process as its role)."""
    if role is None:
        return url
    auth = (os.environ if env is None else env).get(redis_auth_var(role))
    if not auth:
        return url
    user, sep, password = auth.partition(":")
    if not sep or not user:
        raise MissingEndpointError(f"{redis_auth_var(role)} must be USER:PASSWORD")
    return redis_urls_.with_credentials(url, user, password)


def kafka_bootstrap(
    region: str, env: Mapping[str, str] | None = None, *, flag: str | None = "--kafka-bootstrap"
) -> str:
    return _get(kafka_bootstrap_var(region), env, flag)


def jwks(env: Mapping[str, str] | None = None, *, flag: str | None = "--jwks") -> str:
    return _get(JWKS, env, flag)


def token_issuer(
    env: Mapping[str, str] | None = None, *, flag: str | None = "--token-issuer"
) -> str:
    return _get(TOKEN_ISSUER, env, flag)


def token_mint_url(env: Mapping[str, str] | None = None) -> str:
    return _get(TOKEN_MINT_URL, env, None)


def cassandra_contact(
    env: Mapping[str, str] | None = None, *, flag: str | None = "--cassandra-contact"
) -> str:
    """``host:port`` of a Cassandra node to bootstrap from (the driver discovers the others)."""
    return _get(CASSANDRA_CONTACT, env, flag)


def cassandra_dc(
    env: Mapping[str, str] | None = None, *, flag: str | None = "--cassandra-dc"
) -> str:
    """This region's Cassandra data centre: the driver's local DC and the audit keyspace's."""
    return _get(CASSANDRA_DC, env, flag)


def hub_kubeconfig(
    env: Mapping[str, str] | None = None, *, flag: str | None = "--kubeconfig"
) -> str:
    return _get(HUB_KUBECONFIG, env, flag)


def redis_urls(env: Mapping[str, str] | None = None, *, role: Role | None = None) -> dict[str, str]:
    """Every region's Redis the environment knows (a gateway may serve drops homed elsewhere),
    logging in as ``role`` when its variable is set."""
    source = os.environ if env is None else env
    prefix = _REDIS_URL_PREFIX
    return {
        k[len(prefix) :].lower(): login(v, role, env)
        for k, v in source.items()
        if k.startswith(prefix) and v
    }
