"""Placing a bid: the thin adapter between the gateway and ``lua/place_bid.lua``.

Called by the gateway's REST route and bidder WebSocket (and by the benchmark as its baseline).
One call is one ``EVALSHA`` in the drop's home-region Redis; everything the auction decides is
decided inside that script (see :mod:`gavel.auction` for the same rules in Python).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from redis.asyncio import Redis

from gavel import keys, luascripts
from gavel.auction import Outcome, Reason


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Token bucket per bidder and drop: ``burst`` at once, then ``per_second`` sustained."""

    burst: int = 10
    per_second: int = 5


@dataclass(frozen=True, slots=True)
class BidResult:
    """What Redis decided for one attempt, and the drop's figures right after it."""

    outcome: Outcome
    reason: Reason
    event_id: str
    seq: int
    high_bid: int | None
    leader: str | None
    prev_leader: str | None
    min_next: int | None
    ends_at_ms: int | None
    reserve_met: bool
    decided_ms: int
    duplicate: bool
    retry_after_ms: int

    @classmethod
    def from_script(cls, raw: bytes | str) -> BidResult:
        """Parse the JSON object of strings that place_bid.lua returns."""
        o: dict[str, str] = json.loads(raw)

        def opt_int(name: str) -> int | None:
            value = o.get(name, "")
            return int(value) if value else None

        return cls(
            outcome=Outcome(o["outcome"]),
            reason=Reason(o["reason"]),
            event_id=o["event_id"],
            seq=int(o.get("seq", 0)),
            high_bid=opt_int("high_bid"),
            leader=o.get("leader") or None,
            prev_leader=o.get("prev_leader") or None,
            min_next=opt_int("min_next"),
            ends_at_ms=opt_int("ends_at_ms"),
            reserve_met=o.get("reserve_met") == "1",
            decided_ms=int(o["decided_ms"]),
            duplicate=o.get("duplicate") == "1",
            retry_after_ms=int(o.get("retry_after_ms", 0)),
        )


async def place_bid(
    redis: Redis,
    drop_id: str,
    bidder: str,
    bid_id: str,
    amount: int,
    *,
    event_id: str,
    received_ms: int,
    region: str,
    limit: RateLimit = RateLimit(),
) -> BidResult:
    """Decide one attempt in the drop's home-region Redis (one round trip)."""
    k = keys.for_drop(drop_id)
    raw = await luascripts.script("place_bid")(
        redis,
        [k.rules, k.state, k.bids, k.events, k.rate_bucket(bidder)],
        [
            drop_id,
            bidder,
            bid_id,
            str(amount),
            event_id,
            str(received_ms),
            region,
            str(limit.burst),
            str(limit.per_second),
            k.live,
        ],
    )
    if not isinstance(raw, bytes | str):
        raise TypeError(f"place_bid.lua returned {raw!r}")
    return BidResult.from_script(raw)
