"""The operator's view of a drop in a real Redis (its standing, read from the state hash) and of
the region's Redis itself (the primary its Sentinels name, how its replicas keep up)."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from gavel import bidding, events, keys, luascripts, redis_client
from gavel_devstack import layout
from gavel_devstack.harness import redis_nodes
from gavel_devstack.harness.drops import new_drop_id, open_test_drop
from gavel_devstack.harness.relay import UNLIMITED
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import wait_for
from gavel_operator import auctions, redis_health
from gavel_operator.conditions import Observed


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


async def _replication_of(url: str) -> tuple[redis_health.Replication, Observed, dict[str, object]]:
    client = redis_client.connect(url)
    try:
        r = await auctions.replication(url, client)
    finally:
        await client.aclose()
    status, condition = redis_health.assess(r, layout.REDIS_REPLICAS)
    return r, condition, status


async def test_replication_names_the_primary_and_sees_a_hung_replica_fall_behind(
    stack: Stack,
) -> None:
    url = stack.redis_url(stack.regions[0])
    run_dir, region = stack.run_dir, stack.regions[0]
    await wait_for(
        lambda: asyncio.to_thread(redis_nodes.in_sync, run_dir, region, url), 30, "in sync"
    )
    primary = redis_nodes.primary(run_dir, region, url)
    r, condition, status = await _replication_of(url)
    assert r.primary == f"127.0.0.1:{primary.port}"
    assert r.sentinels == (layout.SENTINELS, layout.SENTINELS)
    assert status["replicasInSync"] == layout.REDIS_REPLICAS
    assert (condition.status, condition.reason) == (True, "InSync")
    # The same server through a single-server URL: no Sentinels to ask.
    single, _, _ = await _replication_of(primary.url)
    assert (single.primary, single.sentinels) == (f"127.0.0.1:{primary.port}", None)

    replica = next(n for n in redis_nodes.nodes(run_dir, region) if n.port != primary.port)
    redis_nodes.signal_node(replica, signal.SIGSTOP)  # hung: connected, but silent
    try:

        async def behind() -> bool:
            _, condition, _ = await _replication_of(url)
            return condition.reason == "ReplicasBehind"

        await wait_for(behind, 15, "the hung replica counted as behind")
        _, condition, status = await _replication_of(url)
        assert status["replicasConnected"] == layout.REDIS_REPLICAS
        assert status["replicasInSync"] == layout.REDIS_REPLICAS - 1
        assert f":{replica.port} online lag" in condition.message
    finally:
        redis_nodes.signal_node(replica, signal.SIGCONT)
    await wait_for(
        lambda: asyncio.to_thread(redis_nodes.in_sync, run_dir, region, url), 30, "in sync"
    )


@pytest.mark.parametrize("home", [True, False])
async def test_removing_a_drop_frees_its_observer_counts_for_good(redis: Redis, home: bool) -> None:
    rules = await open_test_drop(redis)
    k = keys.for_drop(rules.drop_id)
    report = luascripts.script("observers")
    assert await report(redis, [k.rules, k.observers], ["fo-1", 4, 5, 6_000]) == [4, 5]
    await auctions.remove(redis, rules.drop_id, home=home)
    assert not await redis.exists(k.observers)
    # A fan-out's report after the removal does not make the hash again.
    assert await report(redis, [k.rules, k.observers], ["fo-1", 4, 5, 6_000]) is None
    assert not await redis.exists(k.observers)
