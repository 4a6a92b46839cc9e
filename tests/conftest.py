"""Shared pytest wiring: markers by folder and the session's local stack.

Tests under ``tests/unit`` need no server and are marked ``unit``; those under
``tests/integration`` and ``tests/e2e`` get the ``stack`` fixture, which reuses the stack that
``scripts/stack env`` describes, or starts one (and stops it at the end of the session).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gavel_devstack.harness.stack_env import Stack, read_stack_env

ROOT = Path(__file__).resolve().parents[1]
STACK = ROOT / "scripts" / "stack"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        marker = {"unit": "unit", "integration": "integration", "e2e": "e2e"}.get(parts[0])
        if marker:
            item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    env = read_stack_env()
    started = False
    if env is None:
        regions = os.environ.get("GAVEL_TEST_REGIONS", "2")
        subprocess.run([str(STACK), "up", "--regions", regions], check=True)
        started = True
        env = read_stack_env()
        assert env is not None, "scripts/stack up succeeded but scripts/stack env did not"
    yield Stack(env)
    if started:
        subprocess.run([str(STACK), "down"], check=False)
