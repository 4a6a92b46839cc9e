"""Shared pytest wiring: markers by folder and the session's local stack.

Tests under ``tests/unit`` need no server and are marked ``unit``; those under
``tests/integration`` and ``tests/e2e`` get the ``stack`` fixture, which reuses the stack that
``scripts/stack env`` describes, or starts one (and stops it at the end of the session).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STACK = ROOT / "scripts" / "stack"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        marker = {"unit": "unit", "integration": "integration", "e2e": "e2e"}.get(parts[0])
        if marker:
            item.add_marker(getattr(pytest.mark, marker))


@dataclass(frozen=True)
class Stack:
    """The endpoints of a running local stack, as ``scripts/stack env`` prints them."""

    env: dict[str, str]

    def _get(self, key: str) -> str:
        try:
            return self.env[key]
        except KeyError:
            pytest.fail(
                f"the running stack has no {key}; bring it up with all components "
                "(scripts/stack up)"
            )

    @property
    def run_dir(self) -> Path:
        return Path(self._get("GAVEL_STACK_DIR"))

    @property
    def regions(self) -> list[str]:
        return self._get("GAVEL_REGIONS").split(",")

    def redis_url(self, region: str) -> str:
        return self._get(f"REDIS_URL_{region.upper()}")

    def kafka(self, region: str) -> str:
        return self._get(f"KAFKA_BOOTSTRAP_{region.upper()}")

    def kubeconfig(self, cluster: str) -> str:
        return self._get(f"KUBECONFIG_{cluster.upper()}")

    @property
    def cassandra(self) -> tuple[str, int]:
        host, port = self._get("CASSANDRA_CONTACT").rsplit(":", 1)
        return host, int(port)

    @property
    def cassandra_dc(self) -> str:
        return self._get("CASSANDRA_DC")


def _stack_env() -> dict[str, str] | None:
    proc = subprocess.run([str(STACK), "env"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None
    return dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    env = _stack_env()
    started = False
    if env is None:
        regions = os.environ.get("GAVEL_TEST_REGIONS", "2")
        subprocess.run([str(STACK), "up", "--regions", regions], check=True)
        started = True
        env = _stack_env()
        assert env is not None, "scripts/stack up succeeded but scripts/stack env did not"
    yield Stack(env)
    if started:
        subprocess.run([str(STACK), "down"], check=False)
