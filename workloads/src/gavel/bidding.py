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
from gavel.chain import ChainLink

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
    chain: ChainLink | None = None
    """The decision's link in the drop's audit chain (the first attempt's for a duplicate);
    None for a decision the script did not record (an unknown drop) or the gateway made."""

    @classmethod
    def from_script(cls, raw: bytes | str) -> BidResult:
        """Parse the JSON object of strings that place_bid.lua returns."""
        o: dict[str, str] = json.loads(raw)
        return cls(
            event_id=o["event_id"],
            decision=events.decision_from_lua(o),
            duplicate=o.get("duplicate") == "1",
            retry_after_ms=int(o.get("retry_after_ms") or 0),
            chain=events.chain_from_lua(o),
        )


@dataclass(frozen=True, slots=True)
class BidCall:
    """One attempt as place_bid.lua takes it: its keys and arguments."""

    keys: list[str]
    args: list[str]


def bid_call(
    drop_id: str,
    bidder: str,
    bid_id: str,
    amount: int,
    *,
    event_id: str,
    received_ms: int,
    region: str,
    limit: RateLimit = DEFAULT_LIMIT,
) -> BidCall:
    k = keys.for_drop(drop_id)
    return BidCall(
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


def evalsha_command(call: BidCall) -> list[str]:
    """The ``EVALSHA`` of place_bid.lua for ``call``, as one command's arguments (for callers
    that pipeline on their own connection, :mod:`gavel.gateway.redis_pipe`)."""
    sha = luascripts.script("place_bid").sha
    return ["EVALSHA", sha, str(len(call.keys)), *call.keys, *call.args]


def result_of(raw: object) -> BidResult:
    """Parse place_bid.lua's reply; TypeError if it is not the script's JSON object."""
    return _result(raw)


def _result(raw: object) -> BidResult:
    if not isinstance(raw, bytes | str):
        raise TypeError(f"place_bid.lua returned {raw!r}")
    return BidResult.from_script(raw)


async def place_bid(redis: Redis, call: BidCall) -> BidResult:
    """Decide one attempt in the drop's home-region Redis: one ``EVALSHA``, answered as soon as
    the primary decided (:mod:`gavel.gateway.replicated` also waits for replicas)."""
    return _result(await luascripts.script("place_bid")(redis, call.keys, call.args))


async def confirm_replicated(redis: Redis, *, replicas: int, timeout_ms: int) -> int:
    """Wait until every write the primary made so far reached ``replicas`` replicas.

    A repeated attempt writes nothing, so the ``WAIT`` after it would not cover the first
    attempt's decision, made earlier on another connection; a write of our own (to a fence
    key) moves this connection's offset past it, and the ``WAIT`` after it covers everything
    before. Returns the replicas that acknowledged.
    """
    async with redis.pipeline(transaction=False) as pipe:
        pipe.incr(keys.WAIT_FENCE)
        pipe.execute_command("WAIT", replicas, timeout_ms)
        _, acked = await pipe.execute()
    return int(acked)
