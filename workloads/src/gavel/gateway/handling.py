"""One bid, from the request's raw parts to the raw answer: the gateway's hot path.

Shared by the REST fast path (:mod:`gavel.gateway.fastpath`), the FastAPI route that documents
it (and serves it when the app runs without the fast path), and the bidder WebSocket, so every
entrance authenticates, validates, decides and answers the same way: the token through the
bounded :class:`gavel.gateway.auth.TokenCache` over the JWKS keys
(:class:`gavel.gateway.keyset.KeySet`), the body through msgspec
(:mod:`gavel.gateway.wire`), the decision through :class:`gavel.gateway.service.BidService`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from prometheus_client import Counter

from gavel.auction import Reason
from gavel.bidding import BidResult
from gavel.gateway import auth, metrics, wire
from gavel.gateway.jwks import RefreshPolicy
from gavel.gateway.keyset import KeySet
from gavel.gateway.problems import PROBLEM_JSON, Problem, problem
from gavel.gateway.service import Attempt, BidService, now_ms

Headers = list[tuple[bytes, bytes]]
Answer = tuple[int, Headers, bytes]
"""HTTP status, extra headers and body, ready for an ASGI ``send``."""

_JSON = (b"content-type", b"application/json")
_PROBLEM = (b"content-type", PROBLEM_JSON.encode())


class BidHandling:
    """Authenticates, validates and decides bids for one gateway process."""

    def __init__(self, service: BidService, token_cache_entries: int = 65_536) -> None:
        self.service = service
        settings = service.settings
        policy = RefreshPolicy(settings.jwks_refresh_s, settings.jwks_min_gap_s)
        self.keys = KeySet(settings.jwks, policy)
        self.tokens = auth.TokenCache(self.keys.current, settings.token_issuer, token_cache_entries)
        self.keys.on_removed(self.tokens.forget_keys)
        self._counted: dict[tuple[str, str], Counter] = {}

    async def bidder(self, authorization: str | None) -> str:
        """The bidder of an ``Authorization`` header, or a 401 Problem.

        A token naming a key we do not hold fetches the JWKS once more (rate-limited by the
        key set), so a key the issuer just published works at once, without a restart.
        """
        try:
            try:
                return self.tokens.bidder_from_header(authorization)
            except auth.UnknownKeyError as exc:
                if not await self.keys.refresh_for_unknown_kid(exc.kid):
                    raise
                return self.tokens.bidder_from_header(authorization)
        except auth.AuthError as exc:
            raise problem(exc.code, exc.detail) from exc

    async def post(
        self, drop_id: str, authorization: str | None, content_type: str, body: bytes
    ) -> Answer:
        """``POST /v1/drops/{drop}/bids``: the answer, a problem included (never raises)."""
        received = now_ms()
        started = time.perf_counter()
        try:
            bidder = await self.bidder(authorization)
            if "json" not in content_type:
                raise problem("unsupported_media_type", "Content-Type must be application/json")
            bid = wire.parse_bid(body)
        except Problem as p:
            return refusal(p)
        result = await self.decide(drop_id, bidder, bid, received)
        answer = _http_answer(drop_id, bid, bidder, result)
        metrics.BID_SECONDS.observe(time.perf_counter() - started)
        return answer

    async def message(self, drop_id: str, bidder: str, raw: bytes | str) -> bytes:
        """One bidder-socket message in, its ``result`` (or ``error``) message out."""
        received = now_ms()
        try:
            bid = wire.parse_bid(raw)
        except Problem as p:
            return wire.encode({"type": "error", "code": p.code, "detail": p.detail, **p.extra})
        result = await self.decide(drop_id, bidder, bid, received)
        return wire.encode(
            {
                "type": "result",
                **_bid_answer(drop_id, bid, bidder, result),
                "retry_after_ms": result.retry_after_ms,
            }
        )

    async def decide(self, drop_id: str, bidder: str, bid: wire.Bid, received: int) -> BidResult:
        result = await self.service.submit(
            Attempt(drop_id, bidder, bid.bid_id, bid.amount, received, str(uuid.uuid4()))
        )
        d = result.decision
        key = (d.outcome.value, d.reason.value)
        counter = self._counted.get(key)
        if counter is None:  # labels() costs a lookup under a lock; one per outcome is enough
            counter = self._counted[key] = metrics.BIDS.labels(*key)
        counter.inc()
        return result


def refusal(p: Problem) -> Answer:
    """A request refused before it became a bid attempt (401, 400, 415, 422): counted."""
    metrics.REFUSED.labels(p.code).inc()
    headers = [_PROBLEM]
    if p.status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    return p.status, headers, p.body()


def _bid_answer(drop_id: str, bid: wire.Bid, bidder: str, r: BidResult) -> dict[str, Any]:
    """The fields of :class:`gavel.gateway.models.BidResponse`, in its order."""
    d = r.decision
    return {
        "drop": drop_id,
        "bid_id": bid.bid_id,
        "event_id": r.event_id,
        "outcome": d.outcome.value,
        "reason": d.reason.value,
        "seq": d.seq,
        "high_bid": d.high_bid,
        "leader_is_you": d.leader == bidder,
        "min_next": d.min_next,
        "ends_at_ms": d.ends_at_ms,
        "reserve_met": d.reserve_met,
        "duplicate": r.duplicate,
        "decided_ms": d.decided_ms,
    }


def _http_answer(drop_id: str, bid: wire.Bid, bidder: str, r: BidResult) -> Answer:
    body, reason = _bid_answer(drop_id, bid, bidder, r), r.decision.reason
    if reason is Reason.ACCEPTED:
        return 201, [_JSON], wire.encode(body)
    if reason is Reason.UNKNOWN_DROP:
        return 404, [_PROBLEM], problem("unknown_drop", f"no drop {drop_id!r}").body()
    if reason is Reason.UNAVAILABLE:
        p = problem("unavailable", "retry with the same bid_id", **body)
        return p.status, [_PROBLEM, (b"retry-after", b"1")], p.body()
    p = problem(reason.value, **body)
    headers = [_PROBLEM]
    if reason is Reason.RATE_LIMITED:
        headers.append((b"retry-after", str(max(1, -(-r.retry_after_ms // 1000))).encode()))
        p.extra["retry_after_ms"] = r.retry_after_ms
    return p.status, headers, p.body()
