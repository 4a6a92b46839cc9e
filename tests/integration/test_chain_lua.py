"""The audit hash chain as lua/place_bid.lua makes it in a real Redis, recomputed in Python
(gavel.chain, gavel.events.BidEvent.attempt_values): the two encodings agree byte for byte."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from gavel import auction, bidding, chain, keys, redis_client, state_hash
from gavel.auction import Outcome, Reason
from gavel.audit.chain_check import Anchor, check
from gavel.events import BidEvent
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.stack_env import Stack

UNLIMITED = auction.RateLimit(burst=1_000_000, per_second=1_000_000)


@pytest.fixture
async def redis(stack: Stack) -> AsyncIterator[Redis]:
    client = redis_client.connect(stack.redis_url(stack.regions[0]))
    yield client
    await client.aclose()


def call(
    drop: str,
    bidder: str,
    bid_id: str,
    amount: int,
    *,
    raw_amount: str | None = None,
    limit: auction.RateLimit = UNLIMITED,
) -> bidding.BidCall:
    c = bidding.bid_call(
        drop,
        bidder,
        bid_id,
        amount,
        event_id=str(uuid.uuid4()),
        received_ms=1_764_000_000_123,
        region="us",
        limit=limit,
    )
    if raw_amount is not None:  # what a client other than the gateway could send
        c.args[3] = raw_amount
    return c


async def entries(redis: Redis, drop: str) -> list[BidEvent]:
    return [BidEvent.from_stream(f) for _, f in await redis.xrange(keys.for_drop(drop).events)]


async def head(redis: Redis, drop: str) -> tuple[int, str] | None:
    return state_hash.chain_head(await redis.hgetall(keys.for_drop(drop).state))


def assert_chained(events: list[BidEvent]) -> None:
    """Every entry's link recomputed in Python is the script's, in stream order from 1."""
    prev = chain.GENESIS
    for n, e in enumerate(events, start=1):
        assert e.chain is not None
        expected = chain.link_hash(prev, n, e.attempt_values())
        assert (e.chain.n, e.chain.prev, e.chain.hash) == (n, prev, expected), e
        prev = e.chain.hash


async def test_python_recomputes_every_link_the_script_made(redis: Redis) -> None:
    rules = await open_test_drop(redis, reserve=1_500)
    drop = rules.drop_id
    assert await head(redis, drop) is None
    answers = [
        await bidding.place_bid(redis, c)
        for c in (
            call(drop, "ann", "1", 1_000),  # accepted, first: no high bid before
            call(drop, "bob", "ünï€ødé id:1 \t", 1_100),  # accepted, displaces ann; odd id
            call(drop, "ann", "2", 1_150),  # below_minimum
            call(drop, "cy", "3", 0, raw_amount="12.5"),  # invalid_amount, hashed as 0
            call(drop, "cy", "4", 0, raw_amount="-7"),  # invalid_amount, kept as -7
            call(drop, "cy", "5", 0, raw_amount="0012000"),  # not canonical: invalid, hashed as 0
            call(drop, "dee", "6", 2_000),  # accepted, reserve met
            call(drop, "ann", "1", 99_999),  # a repeat: no new link
        )
    ]
    burst = auction.RateLimit(burst=1, per_second=1)
    answers += [
        await bidding.place_bid(redis, call(drop, "eve", f"r{i}", 3_000 + i, limit=burst))
        for i in range(2)  # the second is rate limited in the script: chained too
    ]
    events = await entries(redis, drop)
    assert [e.decision.reason for e in events] == [
        *(Reason.ACCEPTED, Reason.ACCEPTED, Reason.BELOW_MINIMUM),
        *(Reason.INVALID_AMOUNT,) * 3,
        *(Reason.ACCEPTED, Reason.ACCEPTED, Reason.RATE_LIMITED),
    ]
    assert [e.amount for e in events[3:6]] == [0, -7, 0]
    assert_chained(events)
    # The script's answer carries the same link; a repeat carries the first attempt's.
    fresh = [a for a in answers if not a.duplicate]
    assert [a.chain for a in fresh] == [e.chain for e in events]
    assert answers[7].duplicate
    assert answers[7].chain == answers[0].chain
    # The head in the state hash is the last link, and the verifier agrees, anchored to it.
    last = events[-1].chain
    assert last is not None
    assert await head(redis, drop) == (last.n, last.hash)
    assert check(drop, events, Anchor(last.n, last.hash)).ok


async def test_the_chain_follows_the_order_redis_decided_in_under_racing_bidders(
    stack: Stack, redis: Redis
) -> None:
    rules = await open_test_drop(redis)
    url = stack.redis_url(stack.regions[0])

    async def bidder(n: int) -> None:
        client = redis_client.connect(url)
        try:
            for i in range(25):
                await bidding.place_bid(
                    client, call(rules.drop_id, f"r{n}", str(i), 1_000 + 97 * i + n)
                )
        finally:
            await client.aclose()

    await asyncio.gather(*(bidder(n) for n in range(16)))
    events = await entries(redis, rules.drop_id)
    assert len(events) == 16 * 25
    assert_chained(events)
    accepted = [e for e in events if e.decision.outcome is Outcome.ACCEPTED]
    assert [e.decision.seq for e in accepted] == list(range(1, len(accepted) + 1))
    # A value changed after the fact no longer hashes to its link.
    tampered = dataclasses.replace(events[100], amount=events[100].amount + 1)
    assert [
        f.n for f in check(rules.drop_id, [*events[:100], tampered, *events[101:]]).findings
    ] == [101]


async def test_a_drop_opened_before_the_chain_starts_its_chain_at_the_next_decision(
    redis: Redis,
) -> None:
    """A state hash without a head (a drop opened and bid on before the upgrade): the next
    decision is link 1 after the genesis hash, so the chain's rows stand on their own."""
    rules = await open_test_drop(redis)
    k = keys.for_drop(rules.drop_id)
    await redis.hset(k.state, mapping={"attempts": "57"})
    await bidding.place_bid(redis, call(rules.drop_id, "ann", "1", 1_000))
    (event,) = await entries(redis, rules.drop_id)
    assert event.chain is not None
    assert (event.chain.n, event.chain.prev) == (1, chain.GENESIS)
    assert await redis.hget(k.state, "attempts") == b"58"


async def test_a_newline_in_any_text_is_refused_and_changes_nothing(redis: Redis) -> None:
    """The chain's encoding ends each value with a newline; the script keeps them out."""
    rules = await open_test_drop(redis)
    for bidder, bid_id in (("ann", "1\n2"), ("ann\n", "1")):
        with pytest.raises(ResponseError, match="invalid_argument"):
            await bidding.place_bid(redis, call(rules.drop_id, bidder, bid_id, 1_000))
    assert await entries(redis, rules.drop_id) == []
    assert await head(redis, rules.drop_id) is None
