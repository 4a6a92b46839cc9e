"""Event payloads: the one module that defines what travels between workloads.

* :class:`BidEvent` — every decided attempt, accepted or rejected. Written by
  ``lua/place_bid.lua`` to the drop's Redis stream (flat fields, read by
  :meth:`BidEvent.from_stream`) or by the gateway's disk outbox; the relay sends it to
  ``gavel.audit``; the audit writer stores it.
* :class:`PriceEvent` — what observers may see of an accepted bid (the leader as a per-drop
  alias, never the bidder id). The relay sends it to ``gavel.price``; MirrorMaker 2 copies it to
  every region; fan-outs push it to WebSockets.

Payloads are compact JSON objects with a schema version ``v``; a reader refuses versions it does
not know (the audit writer dead-letters them) instead of guessing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Self

from gavel.auction import Outcome, Reason

SCHEMA_VERSION = 1


class EventError(ValueError):
    """A payload that is not a valid event of a known version."""


def leader_alias(drop_id: str, bidder: str) -> str:
    """A stable pseudonym of ``bidder`` within one drop, so observers cannot follow a person
    from drop to drop."""
    return "bidder-" + hashlib.sha256(f"{drop_id}\n{bidder}".encode()).hexdigest()[:8]


def _dumps(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _loads(raw: bytes, kind: str) -> dict[str, Any]:
    try:
        obj = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EventError(f"{kind}: not JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise EventError(f"{kind}: not a JSON object")
    if obj.get("v") != SCHEMA_VERSION:
        raise EventError(f"{kind}: unknown schema version {obj.get('v')!r}")
    return obj


@dataclass(frozen=True, slots=True)
class BidEvent:
    """One decided bid attempt (schema v1)."""

    event_id: str
    drop: str
    bidder: str
    bid_id: str
    amount: int
    outcome: Outcome
    reason: Reason
    seq: int
    """The drop's sequence number after the attempt (= this bid's number if accepted)."""
    high_bid: int | None
    leader: str | None
    prev_leader: str | None
    min_next: int | None
    ends_at_ms: int | None
    reserve_met: bool
    received_ms: int
    """Gateway clock when the request arrived."""
    decided_ms: int
    """Redis clock when it was decided (the gateway clock for edge decisions)."""
    region: str
    """Region of the gateway that received it."""
    v: int = SCHEMA_VERSION

    @classmethod
    def from_stream(cls, fields: Mapping[bytes, bytes]) -> Self:
        """Parse an outbox entry written by ``lua/place_bid.lua``."""
        f = {k.decode(): v.decode() for k, v in fields.items()}
        try:
            return cls(
                event_id=f["event_id"],
                drop=f["drop"],
                bidder=f["bidder"],
                bid_id=f["bid_id"],
                amount=_amount(f["amount"]),
                outcome=Outcome(f["outcome"]),
                reason=Reason(f["reason"]),
                seq=int(f["seq"]),
                high_bid=int(f["high_bid"]) if f["high_bid"] else None,
                leader=f["leader"] or None,
                prev_leader=f["prev_leader"] or None,
                min_next=int(f["min_next"]),
                ends_at_ms=int(f["ends_at_ms"]),
                reserve_met=f["reserve_met"] == "1",
                received_ms=int(f["received_ms"]),
                decided_ms=int(f["decided_ms"]),
                region=f["region"],
            )
        except (KeyError, ValueError) as exc:
            raise EventError(f"outbox entry: {exc!r} in {f}") from exc

    def to_json(self) -> bytes:
        return _dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> Self:
        obj = _loads(raw, "bid event")
        try:
            obj["outcome"], obj["reason"] = Outcome(obj["outcome"]), Reason(obj["reason"])
            return cls(**obj)
        except (KeyError, TypeError, ValueError) as exc:
            raise EventError(f"bid event: {exc}") from exc

    def price_event(self) -> PriceEvent:
        """What observers see of this event; only for accepted bids."""
        if self.outcome is not Outcome.ACCEPTED or self.high_bid is None or self.leader is None:
            raise EventError(f"{self.event_id}: only accepted bids have a price event")
        return PriceEvent(
            event_id=self.event_id,
            drop=self.drop,
            seq=self.seq,
            high_bid=self.high_bid,
            leader_alias=leader_alias(self.drop, self.leader),
            min_next=self.min_next or 0,
            ends_at_ms=self.ends_at_ms or 0,
            reserve_met=self.reserve_met,
            decided_ms=self.decided_ms,
        )


def _amount(raw: str) -> int:
    # The outbox keeps the amount as sent; an edge-rejected garbage amount is audited as 0.
    try:
        return int(raw)
    except ValueError:
        return 0


@dataclass(frozen=True, slots=True)
class PriceEvent:
    """A new high bid, as every observer may see it (schema v1)."""

    event_id: str
    drop: str
    seq: int
    high_bid: int
    leader_alias: str
    min_next: int
    ends_at_ms: int
    reserve_met: bool
    decided_ms: int
    v: int = SCHEMA_VERSION

    def to_json(self) -> bytes:
        return _dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> Self:
        obj = _loads(raw, "price event")
        try:
            return cls(**obj)
        except TypeError as exc:
            raise EventError(f"price event: {exc}") from exc
