"""Placing a bid: the thin adapter between the gateway and ``lua/place_bid.lua``.

Called by the gateway's REST route and bidder WebSocket (and by the benchmark as its baseline).
One call is one ``EVALSHA`` in the drop's home-region Redis; everything the auction decides is
decided inside that script (see :mod:`gavel.auction` for the same rules in Python).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from redis import exceptions as redis_errors
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


def _result(raw: object) -> BidResult:
    if not isinstance(raw, bytes | str):
        raise TypeError(f"place_bid.lua returned {raw!r}")
    return BidResult.from_script(raw)


async def place_bid(redis: Redis, call: BidCall) -> BidResult:
    """Decide one attempt in the drop's home-region Redis: one ``EVALSHA``, answered as soon as
    the primary decided (:mod:`gavel.gateway.replicated` also waits for replicas)."""
    return _result(await luascripts.script("place_bid")(redis, call.keys, call.args))


@dataclass(frozen=True, slots=True)
class NodeSeen:
    """The node a pipeline ran on, from its ``INFO replication`` in that same pipeline."""

    node: str
    """Its replication id (``master_replid``): a promotion gives the new primary a new one."""
    role: str
    connected: int
    """Replicas connected to it when the pipeline reached it."""

    @classmethod
    def of(cls, info: object) -> NodeSeen:
        if not isinstance(info, dict):
            return cls("", "unknown", 0)
        return cls(
            str(info.get("master_replid", "")),
            str(info.get("role", "unknown")),
            int(info.get("connected_slaves", 0)),
        )


async def place_bids_replicated(
    redis: Redis, calls: list[BidCall], *, replicas: int, timeout_ms: int
) -> tuple[list[BidResult | redis_errors.RedisError], int, NodeSeen]:
    """Decide ``calls`` in one pipeline on one connection, ending with one ``WAIT``.

    ``WAIT`` covers every write the connection sent before it, so one round trip decides the
    whole batch and confirms its replication. Returns each call's result (or the error Redis
    answered for it, e.g. ``NOREPLICAS`` from a primary without enough replicas), the number
    of replicas that acknowledged, and the node that decided (an ``INFO replication`` leads the
    pipeline: after a failover a pool may hold connections to the old primary and the new one,
    and what to wait for depends on which one this batch reached).
    Connection errors raise: the fate of the batch is unknown.
    """
    script = luascripts.script("place_bid")
    for _ in range(2):
        async with redis.pipeline(transaction=False) as pipe:
            pipe.info("replication")
            for call in calls:
                pipe.evalsha(script.sha, len(call.keys), *call.keys, *call.args)
            pipe.execute_command("WAIT", replicas, timeout_ms)
            raw = await pipe.execute(raise_on_error=False)
        if not any(isinstance(r, redis_errors.NoScriptError) for r in raw[1:-1]):
            break
        # A restarted or new primary lacks the script: nothing of this batch ran (EVALSHA of a
        # missing script writes nothing), so load it and send the batch again.
        await redis.script_load(script.source)
    results: list[BidResult | redis_errors.RedisError] = [
        r if isinstance(r, redis_errors.RedisError) else _result(r) for r in raw[1:-1]
    ]
    acked = raw[-1]
    return results, acked if isinstance(acked, int) else -1, NodeSeen.of(raw[0])


async def confirm_replicated(
    redis: Redis, *, replicas: int, timeout_ms: int
) -> tuple[int, NodeSeen]:
    """Wait until every write the primary made so far reached ``replicas`` replicas.

    A repeated attempt writes nothing, so the ``WAIT`` after it would not cover the first
    attempt's decision, made earlier on another connection; a write of our own (to a fence
    key) moves this connection's offset past it, and the ``WAIT`` after it covers everything
    before. Returns the replicas that acknowledged and the node that answered (its own
    ``INFO replication``): it confirms writes made on that node only.
    """
    async with redis.pipeline(transaction=False) as pipe:
        pipe.info("replication")
        pipe.incr(keys.WAIT_FENCE)
        pipe.execute_command("WAIT", replicas, timeout_ms)
        info, _, acked = await pipe.execute()
    return int(acked), NodeSeen.of(info)
