"""Make drops with fresh ids in a real Redis, timed relative to the Redis server clock."""

from __future__ import annotations

import uuid
from dataclasses import replace

from redis.asyncio import Redis

from gavel import drops
from gavel.auction import IncrementStep, Rules

INCREMENTS = (IncrementStep(0, 100), IncrementStep(10_000, 500), IncrementStep(100_000, 5_000))


async def redis_now_ms(redis: Redis) -> int:
    seconds, micros = await redis.time()
    return seconds * 1000 + micros // 1000


def new_drop_id(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def open_test_drop(
    redis: Redis,
    *,
    opens_in_ms: int = -10_000,
    lasts_ms: int = 3_600_000,
    hard_stop_after_end_ms: int | None = None,
    **overrides: object,
) -> Rules:
    """Open a drop with a fresh id; times are relative to Redis' own clock."""
    now = await redis_now_ms(redis)
    rules = Rules(
        drop_id=new_drop_id(),
        home_region="us",
        currency="EUR",
        start_price=1_000,
        reserve=50_000,
        increments=INCREMENTS,
        opens_at_ms=now + opens_in_ms,
        ends_at_ms=now + opens_in_ms + lasts_ms,
    )
    if hard_stop_after_end_ms is not None:
        rules = replace(rules, hard_stop_ms=rules.ends_at_ms + hard_stop_after_end_ms)
    rules = replace(rules, **overrides)
    assert await drops.open_drop(redis, rules) == "created"
    return rules
