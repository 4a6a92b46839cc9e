"""Event payloads: the one module that defines what travels between workloads.

* :class:`BidEvent` — every decided attempt, accepted or rejected: the attempt, its
  :class:`~gavel.auction.Decision` and, when the drop's script decided it, its link in the
  drop's audit hash chain (:class:`~gavel.chain.ChainLink`). Written by ``lua/place_bid.lua`` to
  the drop's Redis stream (flat fields, read by :meth:`BidEvent.from_stream`) or by the
  gateway's disk outbox; the relay sends it to ``gavel.audit``; the audit writer stores it.
* :class:`PriceEvent` — what observers may see of an accepted bid (the leader as a per-drop
  alias, never the bidder id). The relay sends it to ``gavel.price``; MirrorMaker 2 copies it to
  every region; fan-outs push it to WebSockets.

Payloads are compact JSON objects with a schema version ``v``; a reader refuses versions it does
not know (the audit writer dead-letters them) instead of guessing. Their keys and key order are
:data:`BID_KEYS` and :data:`PRICE_KEYS`: the records nest a Decision, the wire stays flat. Bid
events are v2 (v1 plus the chain link, :data:`CHAIN_FIELDS`); v1 bid events (written before the
chain existed: old disk outboxes, old relays) are still read, and written back as v1.

:func:`decision_from_lua` reads a decision as the script encodes it (strings, ``''`` for none),
for the stream entries here and for the script's answer (:mod:`gavel.bidding`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from gavel.auction import Decision, Outcome, Reason
from gavel.chain import ChainLink

SCHEMA_VERSION = 1
"""Version of price events (and of the dead-letter envelopes the relay and the writer make)."""

BID_SCHEMA_VERSION = 2
"""Version of the bid events written now: v1 plus the chain link."""

DECISION_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Decision))

ATTEMPT_FIELDS: tuple[str, ...] = (
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
)
"""The attempt and its decision, as the outbox entry's first fields, in their order: also
exactly the values a chain link hashes (:mod:`gavel.chain`), in this order."""

CHAIN_FIELDS: tuple[str, ...] = ("chain_n", "chain_prev", "chain_hash")
"""The link, after :data:`ATTEMPT_FIELDS` in the outbox entry and the JSON (null in the JSON of
an edge decision, which no chain holds)."""

STREAM_FIELDS = ATTEMPT_FIELDS + CHAIN_FIELDS
"""The outbox entry's fields in the order ``place_bid.lua`` writes them."""

BID_KEYS: tuple[str, ...] = (*STREAM_FIELDS, "v")
"""A bid event's JSON keys in their order (schema v2)."""

BID_KEYS_V1: tuple[str, ...] = (*ATTEMPT_FIELDS, "v")
"""A v1 bid event's JSON keys: no chain."""

_BID_KEYS_BY_VERSION = {1: BID_KEYS_V1, BID_SCHEMA_VERSION: BID_KEYS}

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


def _loads(raw: bytes, kind: str, keys_by_version: Mapping[int, tuple[str, ...]]) -> dict[str, Any]:
    try:
        obj = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EventError(f"{kind}: not JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise EventError(f"{kind}: not a JSON object")
    version = obj.get("v")
    keys = keys_by_version.get(version) if type(version) is int else None
    if keys is None:
        raise EventError(f"{kind}: unknown schema version {version!r}")
    if obj.keys() != set(keys):
        missing, unknown = set(keys) - obj.keys(), obj.keys() - set(keys)
        raise EventError(f"{kind}: missing {sorted(missing)}, unknown {sorted(unknown)}")
    return obj


@dataclass(frozen=True, slots=True)
class BidEvent:
    """One decided bid attempt (schema v2): who bid what, where and when, the decision, and its
    link in the drop's audit chain (None for an edge decision, and in v1 events)."""

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
    chain: ChainLink | None = None
    v: int = BID_SCHEMA_VERSION

    @classmethod
    def from_stream(cls, fields: Mapping[bytes, bytes]) -> Self:
        """Parse an outbox entry written by ``lua/place_bid.lua``. An entry without a link
        (written by a script from before the chain, during an upgrade) has ``chain`` None."""
        f = {k.decode(): v.decode() for k, v in fields.items()}
        try:
            missing = [name for name in ATTEMPT_FIELDS if name not in f]
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
                chain=chain_from_lua(f),
            )
        except (KeyError, ValueError) as exc:
            raise EventError(f"outbox entry: {exc!r} in {f}") from exc

    def flat(self) -> dict[str, Any]:
        """The event as its JSON object has it: :data:`BID_KEYS` (:data:`BID_KEYS_V1` for a
        v1 event), in that order."""
        link = self.chain
        values = {
            "event_id": self.event_id,
            "drop": self.drop,
            "bidder": self.bidder,
            "bid_id": self.bid_id,
            "amount": self.amount,
            "received_ms": self.received_ms,
            "region": self.region,
            "v": self.v,
            "chain_n": link.n if link else None,
            "chain_prev": link.prev if link else None,
            "chain_hash": link.hash if link else None,
            **{name: getattr(self.decision, name) for name in DECISION_FIELDS},
        }
        return {key: values[key] for key in _BID_KEYS_BY_VERSION.get(self.v, BID_KEYS)}

    def attempt_values(self) -> list[str]:
        """:data:`ATTEMPT_FIELDS` as the outbox entry's strings: what a chain link hashes
        (:mod:`gavel.chain`). The inverse of :meth:`from_stream` for an entry the script wrote
        (numbers in decimal, ``''`` for none, ``'1'``/``'0'`` for booleans)."""
        flat = self.flat()
        return [_lua_text(flat[name]) for name in ATTEMPT_FIELDS]

    def to_json(self) -> bytes:
        return _dumps(self.flat())

    @classmethod
    def from_json(cls, raw: bytes) -> Self:
        obj = _loads(raw, "bid event", _BID_KEYS_BY_VERSION)
        try:
            obj["outcome"], obj["reason"] = Outcome(obj["outcome"]), Reason(obj["reason"])
            decision = Decision(**{name: obj.pop(name) for name in DECISION_FIELDS})
            link = [obj.pop(name, None) for name in CHAIN_FIELDS]
            if any(x is not None for x in link) and None in link:
                raise ValueError(f"chain fields must be all set or all null, not {link}")
            chain = ChainLink(*link) if link[0] is not None else None
            return cls(**obj, decision=decision, chain=chain)
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


_CANONICAL_INTEGER = re.compile(r"-?[1-9][0-9]*|0")


def _amount(raw: str) -> int:
    # The outbox keeps the amount as sent; anything but a canonical decimal is audited as 0,
    # and place_bid.lua hashes it as '0' too (int() would also take '+5', ' 5' or '1_0').
    return int(raw) if _CANONICAL_INTEGER.fullmatch(raw) else 0


def _lua_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def chain_from_lua(f: Mapping[str, str]) -> ChainLink | None:
    """The link of an outbox entry or of the script's answer; None where it has none (an
    entry of a script from before the chain, an answer for an unknown drop)."""
    present = [name for name in CHAIN_FIELDS if f.get(name)]
    if not present:
        return None
    if len(present) != len(CHAIN_FIELDS):
        raise KeyError(", ".join(name for name in CHAIN_FIELDS if name not in present))
    return ChainLink(int(f["chain_n"]), f["chain_prev"], f["chain_hash"])


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
        obj = _loads(raw, "price event", {SCHEMA_VERSION: PRICE_KEYS})
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
