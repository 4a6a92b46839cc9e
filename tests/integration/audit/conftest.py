"""Fixtures of the audit writer's integration tests: a keyspace of their own in the shared
Cassandra (made by the admin role once, dropped at the end), a store on it as the writer, and
the first region's Kafka."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from gavel.audit.store import AuditStore
from gavel_devstack.harness.audit import drop_keyspace, prepare_keyspace, target
from gavel_devstack.harness.stack_env import Stack


@pytest.fixture(scope="session")
def audit_keyspace(stack: Stack) -> Iterator[str]:
    keyspace = f"audit_test_{uuid.uuid4().hex[:10]}"
    prepare_keyspace(stack, keyspace)
    yield keyspace
    drop_keyspace(stack, keyspace)


@pytest.fixture(scope="session")
async def store(stack: Stack, audit_keyspace: str) -> AsyncIterator[AuditStore]:
    s = AuditStore.open(target(stack, audit_keyspace))
    yield s
    s.close()


@pytest.fixture
def kafka(stack: Stack) -> str:
    return stack.kafka(stack.regions[0])
