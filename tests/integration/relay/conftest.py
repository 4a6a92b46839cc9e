"""Fixtures of the relay's integration tests: the shared stack's Redis (in the relay tests' own
logical database) and Kafka of the first region."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from gavel import redis_client
from gavel_devstack.harness.relay import RELAY_TEST_DB, with_db
from gavel_devstack.harness.stack_env import Stack


@pytest.fixture
def redis_url(stack: Stack) -> str:
    return with_db(stack.redis_url(stack.regions[0]), RELAY_TEST_DB)


@pytest.fixture
def kafka(stack: Stack) -> str:
    return stack.kafka(stack.regions[0])


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = redis_client.connect(redis_url)
    yield client
    await client.aclose()
