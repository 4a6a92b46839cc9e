"""What a failover test checks once the fault is over: the answers against the surviving history.

Used by the Redis failover tests (``tests/integration/redis_failover/``). Each side is a crowd
of bidders with the disk outbox of the gateway it bid through. Every 201 and 409 must be in the
drop's stream on the node the Sentinels name now, under its event id (a 201 under its seq too);
accepted amounts rise with seq and no seq is decided twice; every 503 is in its gateway's
outbox exactly once; nothing answered 500 or went unanswered.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

from redis.asyncio import Redis

from gavel import keys, outbox, state_hash
from gavel.auction import Outcome
from gavel.audit import chain_check
from gavel.events import BidEvent
from tests.support.bid_crowd import Answer, Crowd

Side = tuple[Crowd, Path]
"""A crowd and the outbox folder of the gateway it bid through."""


async def check_history(redis: Redis, drop: str, sides: Sequence[Side]) -> None:
    """Fail unless every answer of every side agrees with ``redis`` (the new primary)."""
    k = keys.for_drop(drop)
    entries = await redis.xrange(k.events)
    events = [BidEvent.from_stream(fields) for _, fields in entries]
    by_event = {e.event_id: e for e in events}
    assert len(by_event) == len(events), "an event was written twice"
    accepted = sorted(
        (e for e in events if e.decision.outcome is Outcome.ACCEPTED),
        key=lambda e: e.decision.seq or 0,
    )
    seqs = [e.decision.seq for e in accepted]
    assert len(seqs) == len(set(seqs)), "a seq was decided twice"
    amounts = [e.amount for e in accepted]
    assert all(a < b for a, b in itertools.pairwise(amounts)), "accepted amounts must rise"
    # The audit chain's head is replicated with the entries it links: the surviving history is
    # one unbroken chain ending at the surviving head.
    head = state_hash.chain_head(await redis.hgetall(k.state))
    assert head is not None
    chain = chain_check.check(drop, events, chain_check.Anchor(*head, "promoted primary"))
    assert chain.ok, chain.findings[:5]
    for crowd, outbox_dir in sides:
        assert not crowd.failures, crowd.failures[:5]
        statuses = {a.status for a in crowd.answers}
        assert statuses <= {201, 409, 503}, statuses  # never a 500
        decided: list[Answer] = [a for a in crowd.answers if a.status in {201, 409}]
        for a in decided:
            event = by_event.get(str(a.body["event_id"]))
            assert event is not None, f"answered {a.status} but lost: {a.bid_id} {a.body}"
            assert (event.bidder, event.bid_id, event.amount) == (a.bidder, a.bid_id, a.amount)
            if a.status == 201:
                assert event.decision.seq == a.body["seq"]
        # Every 503 is in the disk outbox once (its own event id, decision "unavailable").
        edge = [e for seg in outbox.iter_pending(outbox_dir) for e in seg.events]
        edge_ids = [e.event_id for e in edge]
        assert len(edge_ids) == len(set(edge_ids))
        unavailable = sorted((a.bidder, a.bid_id) for a in crowd.answers if a.status == 503)
        assert sorted((e.bidder, e.bid_id) for e in edge) == unavailable
    state = await redis.hgetall(k.state)
    assert int(state[b"high_bid"]) == amounts[-1]


def report(name: str, crowd: Crowd, resumed_s: float) -> None:
    counts = {s: sum(a.status == s for a in crowd.answers) for s in (201, 409, 503)}
    print(f"\n{name}: first accepted bid {resumed_s:.2f} s after the fault; answers {counts}")
