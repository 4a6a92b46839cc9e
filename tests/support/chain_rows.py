"""Audit rows of one drop whose links are made as place_bid.lua makes them (gavel.chain), for
the chain verifier's tests."""

from __future__ import annotations

import dataclasses

from gavel.auction import Decision, Outcome, Reason
from gavel.audit.chain_check import Anchor
from gavel.chain import GENESIS, seal
from gavel.events import BidEvent

DROP = "d1"


def attempt(i: int) -> BidEvent:
    accepted = i % 3 != 2
    return BidEvent(
        event_id=f"e-{i:04d}",
        drop=DROP,
        bidder=f"bidder-{i % 4}",
        bid_id=str(i),
        amount=1000 + 10 * i if accepted else 5,
        received_ms=1_700_000_000_000 + i,
        region="us",
        decision=Decision(
            outcome=Outcome.ACCEPTED if accepted else Outcome.REJECTED,
            reason=Reason.ACCEPTED if accepted else Reason.BELOW_MINIMUM,
            seq=i,
            high_bid=1000 + 10 * i,
            leader=f"bidder-{i % 4}",
            prev_leader=None,
            min_next=1001 + 10 * i,
            ends_at_ms=1_700_000_600_000,
            reserve_met=i > 5,
            decided_ms=1_700_000_000_001 + i,
        ),
    )


def linked(count: int) -> list[BidEvent]:
    """What place_bid.lua writes for ``count`` decisions: each sealed after the one before."""
    out, prev = [], GENESIS
    for i in range(1, count + 1):
        e = attempt(i)
        link = seal(prev, i, e.attempt_values())
        out.append(dataclasses.replace(e, chain=link))
        prev = link.hash
    return out


def edge(i: int) -> BidEvent:
    e = attempt(100 + i)
    return dataclasses.replace(e, decision=Decision.edge(Reason.UNAVAILABLE, 1_700_000_000_500))


def head_of(events: list[BidEvent]) -> Anchor:
    link = events[-1].chain
    assert link is not None
    return Anchor(link.n, link.hash, "test")
