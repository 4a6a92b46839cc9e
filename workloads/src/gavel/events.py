"""Event payloads: the one module that defines what travels between workloads.

* :class:`BidEvent` — every decided attempt, accepted or rejected: the attempt and its
  :class:`~gavel.auction.Decision`. Written by ``lua/place_bid.lua`` to the drop's Redis stream
  (flat fields, read by :meth:`BidEvent.from_stream`) or by the gateway's disk outbox; the relay
  sends it to ``gavel.audit``; the audit writer stores it.
* :class:`PriceEvent` — what observers may see of an accepted bid (the leader as a per-drop
  alias, never the bidder id). The relay sends it to ``gavel.price``; MirrorMaker 2 copies it to
  every region; fan-outs push it to WebSockets.

Payloads are compact JSON objects with a schema version ``v``; a reader refuses versions it does
not know (the audit writer dead-letters them) instead of guessing. Their keys and key order are
:data:`BID_KEYS` and :data:`PRICE_KEYS`: the records nest a Decision, the wire stays flat.

:func:`decision_from_lua` reads a decision as the script encodes it (strings, ``''`` for none),
for the stream entries here and for the script's answer (:mod:`gavel.bidding`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from gavel.auction import Decision, Outcome, Reason

SCHEMA_VERSION = 1

DECISION_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Decision))

BID_KEYS: tuple[str, ...] = (
    "event_id",
    "drop",
    "bidder",
    "bid_id",
    "amount",
    "outcome",
    "reason",
    "seq",
    "high_bid",
    "leader",
    "prev_leader",
    "min_next",
    "ends_at_ms",
    "reserve_met",
    "received_ms",
    "decided_ms",
    "region",
    "v",
)
"""A bid event's JSON keys in their order (schema v1). The stream entry has the same fields in
the same order, without ``v``."""

STREAM_FIELDS = BID_KEYS[:-1]

PRICE_KEYS: tuple[str, ...] = (
    "event_id",
    "drop",
    "seq",
    "high_bid",
    "leader_alias",
    "min_next",
    "ends_at_ms",
    "reserve_met",
    "decided_ms",
    "v",
)
"""A price event's JSON keys in their order (schema v1)."""


class EventError(ValueError):
    """A payload that is not a valid event of a known version."""


def leader_alias(drop_id: str, bidder: str) -> str:
    """A stable pseudonym of ``bidder`` within one drop, so observers cannot follow a person
    from drop to drop."""
    return "bidder-" + hashlib.sha256(f"{drop_id}\n{bidder}".encode()).hexdigest()[:8]


def decision_from_lua(f: Mapping[str, str]) -> Decision:
    """A decision as ``lua/place_bid.lua`` encodes it, in its answer and its stream entries:
    numbers as decimal strings, ``''`` for none, ``'1'``/``'0'`` for booleans. Its answer for an
    unknown drop has no figures at all (seq 0, the rest none). Raises KeyError or ValueError."""

    def opt_int(name: str) -> int | None:
        value = f.get(name)
        return int(value) if value else None

    return Decision(
        outcome=Outcome(f["outcome"]),
        reason=Reason(f["reason"]),
        seq=int(f.get("seq") or 0),
        high_bid=opt_int("high_bid"),
        leader=f.get("leader") or None,
        prev_leader=f.get("prev_leader") or None,
        min_next=opt_int("min_next"),
        ends_at_ms=opt_int("ends_at_ms"),
        reserve_met=f.get("reserve_met") == "1",
        decided_ms=int(f["decided_ms"]),
    )


def _dumps(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _loads(raw: bytes, kind: str, keys: tuple[str, ...]) -> dict[str, Any]:
    try:
        obj = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EventError(f"{kind}: not JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise EventError(f"{kind}: not a JSON object")
    if obj.get("v") != SCHEMA_VERSION:
        raise EventError(f"{kind}: unknown schema version {obj.get('v')!r}")
    if obj.keys() != set(keys):
        missing, unknown = set(keys) - obj.keys(), obj.keys() - set(keys)
        raise EventError(f"{kind}: missing {sorted(missing)}, unknown {sorted(unknown)}")
    return obj


@dataclass(frozen=True, slots=True)
class BidEvent:
    """One decided bid attempt (schema v1): who bid what, where and when, and the decision."""

    event_id: str
    drop: str
    bidder: str
    bid_id: str
    amount: int
    received_ms: int
    """Gateway clock when the request arrived."""
    region: str
    """Region of the gateway that received it."""
    decision: Decision
    v: int = SCHEMA_VERSION

    @classmethod
    def from_stream(cls, fields: Mapping[bytes, bytes]) -> Self:
        """Parse an outbox entry written by ``lua/place_bid.lua``."""
        f = {k.decode(): v.decode() for k, v in fields.items()}
        try:
            missing = [name for name in STREAM_FIELDS if name not in f]
            if missing:
                raise KeyError(", ".join(missing))
            return cls(
                event_id=f["event_id"],
                drop=f["drop"],
                bidder=f["bidder"],
                bid_id=f["bid_id"],
                amount=_amount(f["amount"]),
                received_ms=int(f["received_ms"]),
                region=f["region"],
                decision=decision_from_lua(f),
            )
        except (KeyError, ValueError) as exc:
            raise EventError(f"outbox entry: {exc!r} in {f}") from exc

    def flat(self) -> dict[str, Any]:
        """The event as its JSON object has it: :data:`BID_KEYS`, in that order."""
        values = {
            "event_id": self.event_id,
            "drop": self.drop,
            "bidder": self.bidder,
            "bid_id": self.bid_id,
            "amount": self.amount,
            "received_ms": self.received_ms,
            "region": self.region,
            "v": self.v,
            **{name: getattr(self.decision, name) for name in DECISION_FIELDS},
        }
        return {key: values[key] for key in BID_KEYS}

    def to_json(self) -> bytes:
        return _dumps(self.flat())

    @classmethod
    def from_json(cls, raw: bytes) -> Self:
        obj = _loads(raw, "bid event", BID_KEYS)
        try:
            obj["outcome"], obj["reason"] = Outcome(obj["outcome"]), Reason(obj["reason"])
            decision = Decision(**{name: obj.pop(name) for name in DECISION_FIELDS})
            return cls(**obj, decision=decision)
        except (TypeError, ValueError) as exc:
            raise EventError(f"bid event: {exc}") from exc

    def price_event(self) -> PriceEvent:
        """What observers see of this event; only for accepted bids, which place_bid.lua
        decided with every figure."""
        d, leader = self.decision, self.decision.leader
        figures = (d.high_bid, d.min_next, d.ends_at_ms)
        if d.outcome is not Outcome.ACCEPTED or leader is None or None in figures:
            raise EventError(f"{self.event_id}: only accepted bids have a price event")
        return PriceEvent(
            event_id=self.event_id,
            drop=self.drop,
            leader_alias=leader_alias(self.drop, leader),
            decision=dataclasses.replace(d, leader=None, prev_leader=None),
        )


def _amount(raw: str) -> int:
    # The outbox keeps the amount as sent; an edge-rejected garbage amount is audited as 0.
    try:
        return int(raw)
    except ValueError:
        return 0


@dataclass(frozen=True, slots=True)
class PriceEvent:
    """A new high bid, as every observer may see it (schema v1): an accepted decision whose
    bidders are withheld (``leader`` and ``prev_leader`` None), the leader as its alias."""

    event_id: str
    drop: str
    leader_alias: str
    decision: Decision
    v: int = SCHEMA_VERSION

    def flat(self) -> dict[str, Any]:
        """The event as its JSON object has it: :data:`PRICE_KEYS`, in that order."""
        d = self.decision
        values = {
            "event_id": self.event_id,
            "drop": self.drop,
            "leader_alias": self.leader_alias,
            "v": self.v,
            **{name: getattr(d, name) for name in DECISION_FIELDS},
        }
        return {key: values[key] for key in PRICE_KEYS}

    def to_json(self) -> bytes:
        return _dumps(self.flat())

    @classmethod
    def from_json(cls, raw: bytes) -> Self:
        obj = _loads(raw, "price event", PRICE_KEYS)
        try:
            decision = Decision(
                outcome=Outcome.ACCEPTED,
                reason=Reason.ACCEPTED,
                leader=None,
                prev_leader=None,
                **{name: obj[name] for name in DECISION_FIELDS if name in PRICE_KEYS},
            )
            return cls(obj["event_id"], obj["drop"], obj["leader_alias"], decision, obj["v"])
        except TypeError as exc:
            raise EventError(f"price event: {exc}") from exc
