"""The operator's view of a drop in a real Redis: its standing, read from the state hash."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from gavel import bidding, events, redis_client
from gavel_devstack.harness.drops import new_drop_id, open_test_drop
from gavel_devstack.harness.relay import UNLIMITED
from gavel_devstack.harness.stack_env import Stack
from gavel_operator import auctions


@pytest.fixture
async def redis(stack: Stack) -> AsyncIterator[Redis]:
    client = redis_client.connect(stack.redis_url(stack.regions[0]))
    yield client
    await client.aclose()


async def test_standing_before_and_after_a_bid(redis: Redis) -> None:
    assert await auctions.standing(redis, new_drop_id()) is None
    rules = await open_test_drop(redis)
    fresh = auctions.Standing(high_bid=0, bids=0, leader_alias=None, ends_at_ms=rules.ends_at_ms)
    assert await auctions.standing(redis, rules.drop_id) == fresh
    await bidding.place_bid(
        redis,
        bidding.bid_call(
            rules.drop_id,
            "ann",
            "1",
            1_000,
            event_id=str(uuid.uuid4()),
            received_ms=0,
            region="us",
            limit=UNLIMITED,
        ),
    )
    assert await auctions.standing(redis, rules.drop_id) == auctions.Standing(
        high_bid=1_000,
        bids=1,
        leader_alias=events.leader_alias(rules.drop_id, "ann"),
        ends_at_ms=rules.ends_at_ms,
    )
