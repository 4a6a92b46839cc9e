"""lua/open_drop.lua in a real Redis: idempotent opening and the frozen-rules policy."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from redis.asyncio import Redis

from gavel import bidding, drop_rules, drops, keys, redis_client
from gavel.auction import Reason
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.stack_env import Stack


@pytest.fixture
async def redis(stack: Stack) -> AsyncIterator[Redis]:
    client = redis_client.connect(stack.redis_url(stack.regions[0]))
    yield client
    await client.aclose()


async def _bid(redis: Redis, drop: str, amount: int) -> bidding.BidResult:
    return await bidding.place_bid(
        redis,
        bidding.bid_call(
            drop,
            "ann",
            uuid.uuid4().hex,
            amount,
            event_id=uuid.uuid4().hex,
            received_ms=0,
            region="us",
        ),
    )


async def test_opening_again_is_a_no_op(redis: Redis) -> None:
    rules = await open_test_drop(redis)
    assert await drops.open_drop(redis, rules) == "unchanged"
    assert await redis.sismember(keys.DROP_INDEX, rules.drop_id)
    stored = await redis.hgetall(keys.for_drop(rules.drop_id).rules)
    assert drop_rules.rules_from_hash(rules.drop_id, stored) == rules


async def test_anything_may_change_before_opening(redis: Redis) -> None:
    rules = await open_test_drop(redis, opens_in_ms=60_000)
    changed = replace(rules, start_price=2_000, ends_at_ms=rules.ends_at_ms - 1_000)
    assert await drops.open_drop(redis, changed) == "updated"
    state = await redis.hget(keys.for_drop(rules.drop_id).state, "ends_at_ms")
    assert int(state) == changed.ends_at_ms


async def test_opened_drop_refuses_unfair_changes_and_keeps_its_rules(redis: Redis) -> None:
    rules = await open_test_drop(redis)
    with pytest.raises(drop_rules.RulesFrozenError, match="start_price: is frozen"):
        await drops.open_drop(redis, replace(rules, start_price=1))
    with pytest.raises(drop_rules.RulesFrozenError, match="ends_at_ms: may only move later"):
        await drops.open_drop(redis, replace(rules, ends_at_ms=rules.ends_at_ms - 1))
    stored = await redis.hgetall(keys.for_drop(rules.drop_id).rules)
    assert drop_rules.rules_from_hash(rules.drop_id, stored) == rules


async def test_opened_drop_may_run_longer_or_be_cancelled_but_not_reopened(
    redis: Redis,
) -> None:
    rules = await open_test_drop(redis)
    longer = replace(rules, ends_at_ms=rules.ends_at_ms + 60_000)
    assert await drops.open_drop(redis, longer) == "updated"
    assert (await _bid(redis, rules.drop_id, 1_000)).decision.ends_at_ms == longer.ends_at_ms
    cancelled = replace(longer, cancelled=True)
    assert await drops.open_drop(redis, cancelled) == "updated"
    assert (await _bid(redis, rules.drop_id, 5_000)).decision.reason is Reason.CANCELLED
    with pytest.raises(drop_rules.RulesFrozenError, match="cannot be reopened"):
        await drops.open_drop(redis, longer)
