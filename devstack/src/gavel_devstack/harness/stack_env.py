"""The endpoints of a running local stack, as ``scripts/stack env`` prints them.

Read by the pytest ``stack`` fixture (``tests/conftest.py``), the benchmarks and the harness's
process helpers; the variable names come from :mod:`gavel.endpoints`, the stack's own extras
(run folder, kubeconfigs) are spelled here.
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path

from gavel import cassandra_auth, endpoints, kafka_auth, redis_url
from gavel.audit.schema import KEYSPACE
from gavel.audit.settings import CassandraTarget
from gavel.redis_acl import Role
from gavel_devstack.install import repo_root
from gavel_devstack.redis_auth import SUPERUSER_VAR


class StackEnvError(LookupError):
    """The running stack lacks a variable (it was brought up without that component)."""


def read_stack_env(run_dir: Path | None = None) -> dict[str, str] | None:
    """``scripts/stack env`` (of the stack in ``run_dir``, if given) as a dict; None when no
    stack runs."""
    where = ["--dir", str(run_dir)] if run_dir is not None else []
    proc = subprocess.run(
        [str(repo_root() / "scripts" / "stack"), "env", *where],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return None
    return dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)


@dataclass(frozen=True)
class Stack:
    """Typed access to one running stack's variables."""

    env: dict[str, str]

    def _get(self, key: str) -> str:
        try:
            return self.env[key]
        except KeyError:
            raise StackEnvError(
                f"the running stack has no {key}; bring it up with all components "
                "(scripts/stack up)"
            ) from None

    @property
    def run_dir(self) -> Path:
        return Path(self._get("GAVEL_STACK_DIR"))

    @property
    def regions(self) -> list[str]:
        return self._get(endpoints.REGIONS).split(",")

    def redis_url(self, region: str) -> str:
        """``region``'s Redis as the stack's superuser (tests' set-up and checks); workloads
        started with :attr:`env` log in as their own ACL users instead."""
        url = self._get(endpoints.redis_url_var(region))
        auth = self.env.get(SUPERUSER_VAR)
        if not auth:
            return url
        user, _, password = auth.partition(":")
        return redis_url.with_credentials(url, user, password)

    def redis_login(self, role: Role) -> str:
        """``USER:PASSWORD`` of ``role`` in this stack."""
        return self._get(endpoints.redis_auth_var(role))

    def kafka(self, region: str) -> str:
        return self._get(endpoints.kafka_bootstrap_var(region))

    def kafka_auth(self, role: str) -> kafka_auth.KafkaAuth | None:
        """The Kafka credential of a workload role (gavel.kafka_auth.ROLES)."""
        return kafka_auth.from_env(role, self.env)

    def kubeconfig(self, cluster: str) -> str:
        return self._get(f"KUBECONFIG_{cluster.upper()}")

    @property
    def cassandra(self) -> tuple[str, int]:
        host, port = self._get(endpoints.CASSANDRA_CONTACT).rsplit(":", 1)
        return host, int(port)

    @property
    def cassandra_dc(self) -> str:
        return self._get(endpoints.CASSANDRA_DC)

    def cassandra_target(
        self, role: str, keyspace: str = KEYSPACE, port: int | None = None
    ) -> CassandraTarget:
        """The audit keyspace ``keyspace`` as Cassandra ``role`` (gavel.cassandra_auth.ROLES)
        reaches it in this stack; ``port`` points the client elsewhere (a proxy)."""
        host, default_port = self.cassandra
        login = cassandra_auth.login_from_env(role, self.env)
        return CassandraTarget(host, port or default_port, self.cassandra_dc, keyspace, login)


@functools.cache
def stack_kafka_auth(role: str) -> kafka_auth.KafkaAuth | None:
    """``role``'s Kafka credential in the running stack, for harness helpers that take only a
    bootstrap address; None when no stack runs (or it runs Kafka without authentication)."""
    return kafka_auth.from_env(role, read_stack_env() or {})
