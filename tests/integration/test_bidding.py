"""lua/place_bid.lua in a real Redis, held to the reference model in gavel.auction."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from gavel import auction, bidding, keys, luascripts, redis_client
from gavel.auction import DropModel, Outcome, Reason, State, min_next_bid
from gavel.events import BidEvent
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.stack_env import Stack

UNLIMITED = auction.RateLimit(burst=1_000_000, per_second=1_000_000)


@pytest.fixture
async def redis(stack: Stack) -> AsyncIterator[Redis]:
    client = redis_client.connect(stack.redis_url(stack.regions[0]))
    yield client
    await client.aclose()


async def bid(
    redis: Redis,
    drop: str,
    bidder: str,
    bid_id: str,
    amount: int,
    *,
    limit: auction.RateLimit = UNLIMITED,
) -> bidding.BidResult:
    return await bidding.place_bid(
        redis,
        bidding.bid_call(
            drop,
            bidder,
            bid_id,
            amount,
            event_id=str(uuid.uuid4()),
            received_ms=0,
            region="us",
            limit=limit,
        ),
    )


async def stream_events(redis: Redis, drop: str) -> list[BidEvent]:
    entries = await redis.xrange(keys.for_drop(drop).events)
    return [BidEvent.from_stream(fields) for _, fields in entries]


async def assert_state_matches(redis: Redis, drop: str, state: State) -> None:
    raw = {
        k.decode(): v.decode() for k, v in (await redis.hgetall(keys.for_drop(drop).state)).items()
    }
    assert int(raw["seq"]) == state.seq
    assert int(raw["bids"]) == state.bids
    assert int(raw["ends_at_ms"]) == state.ends_at_ms
    assert (int(raw["high_bid"]) if "high_bid" in raw else None) == state.high_bid
    assert raw.get("leader") == state.leader


# One step of a generated bidding session: who bids, with which bid_id (few ids, so repeats
# happen), and an amount either absolute or relative to the current minimum.
steps = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 6), st.booleans(), st.integers(-3_000, 200_000)),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(session=steps)
async def test_redis_decides_exactly_as_the_model(redis: Redis, session: list) -> None:  # type: ignore[type-arg]
    rules = await open_test_drop(redis)
    model = DropModel.opened(rules)
    for bidder_no, bid_no, relative, value in session:
        bidder, bid_id = f"b{bidder_no}", f"bid-{bidder_no}-{bid_no}"
        amount = min_next_bid(rules, model.state) + value % 7 - 3 if relative else value
        result = await bid(redis, rules.drop_id, bidder, bid_id, amount)
        repeat = (bidder, bid_id) in model.seen
        expected = model.bid(bidder, bid_id, amount, result.decision.decided_ms)
        assert (result.decision, result.duplicate) == (expected, repeat)
    await assert_state_matches(redis, rules.drop_id, model.state)
    # The outbox holds exactly the new (non-repeated) attempts, in decision order.
    events = await stream_events(redis, rules.drop_id)
    assert len(events) == len(model.seen)
    accepted = [e.amount for e in events if e.decision.outcome is Outcome.ACCEPTED]
    assert accepted == sorted(set(accepted)), "an accepted bid was not above the previous one"


async def test_many_bidders_racing_on_one_drop(stack: Stack, redis: Redis) -> None:
    rules = await open_test_drop(redis)
    url = stack.redis_url(stack.regions[0])
    rng = random.Random(7)

    async def bidder(n: int) -> None:
        client = redis_client.connect(url)  # its own connection, like a separate gateway
        try:
            for i in range(40):
                await bid(
                    client,
                    rules.drop_id,
                    f"racer-{n}",
                    f"{n}-{i}",
                    1_000 + rng.randrange(0, 400) * 100,
                )
        finally:
            await client.aclose()

    await asyncio.gather(*(bidder(n) for n in range(50)))
    events = await stream_events(redis, rules.drop_id)
    assert len(events) == 50 * 40
    # Redis ran the scripts one at a time; replaying the outbox in order through the model
    # must reproduce every decision.
    model = DropModel.opened(rules)
    for e in events:
        assert e.decision == model.bid(e.bidder, e.bid_id, e.amount, e.decision.decided_ms)
    accepted = [e.amount for e in events if e.decision.outcome is Outcome.ACCEPTED]
    assert accepted == sorted(accepted)
    assert len(accepted) == len(set(accepted)), "two winners at one price level"
    await assert_state_matches(redis, rules.drop_id, model.state)


async def test_repeated_bid_id_returns_the_first_answer_and_changes_nothing(
    redis: Redis,
) -> None:
    rules = await open_test_drop(redis)
    first = await bid(redis, rules.drop_id, "ann", "x", 1_000)
    again = await bid(redis, rules.drop_id, "ann", "x", 900_000)
    assert first.decision.outcome is Outcome.ACCEPTED
    assert not first.duplicate
    assert again.duplicate
    assert (again.decision.outcome, again.decision.high_bid, again.event_id) == (
        first.decision.outcome,
        first.decision.high_bid,
        first.event_id,
    )
    assert len(await stream_events(redis, rules.drop_id)) == 1
    other = await bid(redis, rules.drop_id, "bob", "x", 1_100)  # same bid_id, other bidder
    assert other.decision.outcome is Outcome.ACCEPTED


async def test_window_not_open_then_closed(redis: Redis) -> None:
    early = await open_test_drop(redis, opens_in_ms=60_000)
    r = await bid(redis, early.drop_id, "ann", "1", 5_000)
    assert (r.decision.outcome, r.decision.reason) == (Outcome.REJECTED, Reason.NOT_OPEN)
    late = await open_test_drop(redis, opens_in_ms=-60_000, lasts_ms=30_000)
    r = await bid(redis, late.drop_id, "ann", "1", 5_000)
    assert (r.decision.outcome, r.decision.reason) == (Outcome.REJECTED, Reason.CLOSED)
    assert [e.decision.reason for e in await stream_events(redis, late.drop_id)] == [Reason.CLOSED]


async def test_soft_close_extends_but_never_past_the_hard_stop(redis: Redis) -> None:
    rules = await open_test_drop(
        redis,
        opens_in_ms=-1_000,
        lasts_ms=3_000,
        soft_window_ms=5_000,
        soft_extension_ms=10_000,
        hard_stop_after_end_ms=4_000,
    )
    r = await bid(redis, rules.drop_id, "ann", "1", 1_000)
    assert r.decision.outcome is Outcome.ACCEPTED
    assert r.decision.ends_at_ms == rules.hard_stop_ms  # now + 10 s is past the hard stop


async def test_reserve_is_reported_not_enforced(redis: Redis) -> None:
    rules = await open_test_drop(redis, reserve=2_000)
    low = await bid(redis, rules.drop_id, "ann", "1", 1_000)
    assert (low.decision.outcome, low.decision.reserve_met) == (Outcome.ACCEPTED, False)
    high = await bid(redis, rules.drop_id, "bob", "1", 2_000)
    assert (high.decision.outcome, high.decision.reserve_met, high.decision.prev_leader) == (
        Outcome.ACCEPTED,
        True,
        "ann",
    )


async def test_increment_table_applies_by_tier(redis: Redis) -> None:
    rules = await open_test_drop(redis, start_price=9_900)
    assert (await bid(redis, rules.drop_id, "a", "1", 9_900)).decision.min_next == 10_000  # +100
    assert (await bid(redis, rules.drop_id, "b", "1", 10_000)).decision.min_next == 10_500  # +500
    r = await bid(redis, rules.drop_id, "c", "1", 10_499)
    assert (r.decision.reason, r.decision.min_next) == (Reason.BELOW_MINIMUM, 10_500)


async def test_rate_limit_rejects_the_flood_audits_it_and_allows_a_retry(redis: Redis) -> None:
    rules = await open_test_drop(redis)
    limit = auction.RateLimit(burst=3, per_second=1)
    results = [
        await bid(redis, rules.drop_id, "flood", f"{i}", 1_000 + 100 * i, limit=limit)
        for i in range(5)
    ]
    assert [r.decision.reason for r in results] == [Reason.ACCEPTED] * 3 + [Reason.RATE_LIMITED] * 2
    assert 0 < results[-1].retry_after_ms <= 1_000
    assert [e.decision.reason for e in await stream_events(redis, rules.drop_id)][-2:] == [
        Reason.RATE_LIMITED,
        Reason.RATE_LIMITED,
    ]
    # The scenario itself, not a wait for a condition: a client that waits as long as it was
    # told to gets its bid through.
    await asyncio.sleep(results[-1].retry_after_ms / 1000 + 0.05)
    retry = await bid(redis, rules.drop_id, "flood", "4", 1_400, limit=limit)  # same bid_id
    assert (retry.decision.outcome, retry.duplicate) == (Outcome.ACCEPTED, False)


async def test_unknown_drop_is_rejected_without_creating_anything(redis: Redis) -> None:
    r = await bid(redis, "never-opened-drop", "ann", "1", 1_000)
    assert r.decision.reason is Reason.UNKNOWN_DROP
    assert await redis.exists(keys.for_drop("never-opened-drop").events) == 0


async def test_script_is_reloaded_after_redis_forgets_it(redis: Redis) -> None:
    rules = await open_test_drop(redis)
    await redis.script_flush()
    assert await redis.script_exists(luascripts.script("place_bid").sha) == [False]
    assert (await bid(redis, rules.drop_id, "ann", "1", 1_000)).decision.outcome is Outcome.ACCEPTED
