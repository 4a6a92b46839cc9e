"""Placing a bid: the thin adapter between the gateway and ``lua/place_bid.lua``.

Called by the gateway's REST route and bidder WebSocket (and by the benchmark as its baseline).
One call is one ``EVALSHA`` in the drop's home-region Redis; everything the auction decides is
decided inside that script (see :mod:`gavel.auction` for the same rules in Python).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from redis.asyncio import Redis

from gavel import events, keys, luascripts
from gavel.auction import Decision, RateLimit

DEFAULT_LIMIT = RateLimit()


@dataclass(frozen=True, slots=True)
class BidResult:
    """place_bid.lua's answer to one attempt: its decision, and what only the bidder is told."""

    event_id: str
    decision: Decision
    duplicate: bool
    """A repeated (bidder, bid_id): ``decision`` is the first attempt's, nothing changed."""
    retry_after_ms: int
    """How long a rate-limited bidder should wait; 0 otherwise."""

    @classmethod
    def from_script(cls, raw: bytes | str) -> BidResult:
        """Parse the JSON object of strings that place_bid.lua returns."""
        o: dict[str, str] = json.loads(raw)
        return cls(
            event_id=o["event_id"],
            decision=events.decision_from_lua(o),
            duplicate=o.get("duplicate") == "1",
            retry_after_ms=int(o.get("retry_after_ms") or 0),
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
    limit: RateLimit = DEFAULT_LIMIT,
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
