"""Where a workload finds its servers: the variables ``scripts/stack env`` prints.

Every workload command (``gavel gateway``, ``gavel relay``, ...) takes ``--region`` and reads
``REDIS_URL_<R>``, ``KAFKA_BOOTSTRAP_<R>``, ``CASSANDRA_CONTACT``, ``CASSANDRA_DC`` and
``GAVEL_JWT_SECRET`` from the environment; flags override them. In a cluster the operator sets
the same variables on the Deployment, so local runs and production read configuration the same
way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


class MissingEndpointError(LookupError):
    """A variable the command needs is not set; the message says which and how to set it."""


def _get(name: str, env: Mapping[str, str] | None) -> str:
    value = (os.environ if env is None else env).get(name)
    if not value:
        raise MissingEndpointError(
            f'{name} is not set: run `eval "$(scripts/stack env)"` or pass the flag'
        )
    return value


def regions(env: Mapping[str, str] | None = None) -> list[str]:
    return _get("GAVEL_REGIONS", env).split(",")


def redis_url(region: str, env: Mapping[str, str] | None = None) -> str:
    return _get(f"REDIS_URL_{region.upper()}", env)


def kafka_bootstrap(region: str, env: Mapping[str, str] | None = None) -> str:
    return _get(f"KAFKA_BOOTSTRAP_{region.upper()}", env)


def jwt_secret(env: Mapping[str, str] | None = None) -> str:
    return _get("GAVEL_JWT_SECRET", env)


def cassandra_contact(env: Mapping[str, str] | None = None) -> str:
    """``host:port`` of a Cassandra node to bootstrap from (the driver discovers the others)."""
    return _get("CASSANDRA_CONTACT", env)


def cassandra_dc(env: Mapping[str, str] | None = None) -> str:
    """This region's Cassandra data centre: the driver's local DC and the audit keyspace's."""
    return _get("CASSANDRA_DC", env)


def redis_urls(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every region's Redis the environment knows (a gateway may serve drops homed elsewhere)."""
    source = os.environ if env is None else env
    prefix = "REDIS_URL_"
    return {k[len(prefix) :].lower(): v for k, v in source.items() if k.startswith(prefix) and v}
