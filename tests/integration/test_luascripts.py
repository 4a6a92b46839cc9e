"""``gavel.luascripts`` against a real Redis: EVALSHA of ``lua/rate_limit.lua``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from gavel import luascripts
from tests.conftest import Stack


@pytest.fixture
async def redis(stack: Stack) -> AsyncIterator[Redis]:
    client = Redis.from_url(stack.redis_url(stack.regions[0]))
    yield client
    await client.aclose()


async def test_script_runs_by_sha_and_is_reloaded_after_a_flush(redis: Redis) -> None:
    rate_limit = luascripts.script("rate_limit")
    key = f"{{test-{uuid.uuid4().hex}}}:rl:alice"
    await redis.script_flush()
    assert (await redis.script_exists(rate_limit.sha)) == [False]
    result = await rate_limit(redis, [key], [5, 1, 1])
    assert result == [1, 4, 0]
    assert (await redis.script_exists(rate_limit.sha)) == [True]


async def test_bucket_allows_the_burst_then_refuses_with_a_wait(redis: Redis) -> None:
    rate_limit = luascripts.script("rate_limit")
    key = f"{{test-{uuid.uuid4().hex}}}:rl:bob"
    answers = [await rate_limit(redis, [key], [3, 1, 1]) for _ in range(4)]
    assert [a[0] for a in answers] == [1, 1, 1, 0]
    assert 0 < answers[-1][2] <= 1000
    assert 0 < await redis.pttl(key) <= 4000


async def test_bad_arguments_get_a_clear_error(redis: Redis) -> None:
    from redis.exceptions import ResponseError

    with pytest.raises(ResponseError, match="must be integers >= 1"):
        await luascripts.script("rate_limit")(redis, ["{t}:rl:x"], [0, 1, 1])
