"""What the herd's clients saw: bidders' answers and observers' views of a drop. Pure.

The load clients (:mod:`gavel.herd.bidders`, :mod:`gavel.herd.observers`) fill these as they
go; :mod:`gavel.herd.checker` judges them against what the stores hold at the end. An observer
is folded message by message (:meth:`ObserverView.take`) rather than kept whole: twenty
thousand sockets times every price would not fit this machine, and the fold keeps exactly what
the checker needs (where the socket ended, what went wrong, with the offending messages).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gavel.herd.latency import Histogram

DECODED_KEPT = 256
"""Distinct messages a region keeps parsed (prices in flight at once, with room to spare)."""


class Channel(StrEnum):
    REST = "rest"
    WEBSOCKET = "ws"


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer a bidder got for one attempt (a retry with the same ``bid_id`` is another
    answer carrying the first one's ``event_id``)."""

    region: str
    channel: Channel
    bidder: str
    bid_id: str
    amount: int
    status: int
    """HTTP status; 0 for an answer on the bidder WebSocket."""
    event_id: str | None
    """None for refusals that are not attempts (bad token, malformed body, unknown drop)."""
    outcome: str | None
    reason: str | None
    seq: int
    duplicate: bool
    sent_ms: float
    """Wall clock when the client sent it."""
    ack_ms: float
    """Send to answer, as the client measured it."""

    @classmethod
    def from_body(
        cls,
        body: Mapping[str, Any],
        *,
        region: str,
        channel: Channel,
        bidder: str,
        bid_id: str,
        amount: int,
        status: int,
        sent_ms: float,
        ack_ms: float,
    ) -> Answer:
        """An answer to sending ``amount`` as ``bid_id``, from the gateway's JSON: a 201 body,
        a problem carrying the bid's figures (409, 429, 503), a WebSocket ``result``, or a
        refusal without them."""
        return cls(
            region=region,
            channel=channel,
            bidder=bidder,
            bid_id=bid_id,
            amount=amount,
            status=status,
            event_id=body.get("event_id"),
            outcome=body.get("outcome"),
            reason=body.get("reason") or body.get("code"),
            seq=int(body.get("seq") or 0),
            duplicate=bool(body.get("duplicate", False)),
            sent_ms=sent_ms,
            ack_ms=ack_ms,
        )

    @property
    def accepted(self) -> bool:
        return self.outcome == "accepted"

    def brief(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "channel": self.channel.value,
            "bidder": self.bidder,
            "bid_id": self.bid_id,
            "amount": self.amount,
            "status": self.status,
            "event_id": self.event_id,
            "outcome": self.outcome,
            "reason": self.reason,
            "seq": self.seq,
            "duplicate": self.duplicate,
        }


class Anomaly(StrEnum):
    """What one observer saw go wrong."""

    GAP = "gap"
    """A ``price`` whose seq is not the previous + 1 (a gap must come as a resync snapshot)."""
    WENT_BACK = "went_back"
    """A message with a lower seq than one already seen."""
    PRICE_DOWN = "price_down"
    """A high bid lower than one already seen."""
    PHANTOM = "phantom"
    """Two observers of one region saw different prices for the same seq."""


@dataclass(slots=True)
class ObserverView:
    """One observer: where it stands, what went wrong, how often it was cut."""

    region: str
    name: str
    seq: int = 0
    high_bid: int | None = None
    messages: int = 0
    resyncs: int = 0
    skipped: int = 0
    """Prices a resync snapshot jumped over (the fan-out skipped to the latest)."""
    connects: int = 0
    anomalies: list[tuple[Anomaly, dict[str, Any]]] = field(default_factory=list)

    def take(self, msg: Mapping[str, Any], received_ms: float, region: RegionSightings) -> None:
        """Fold one message of the fan-out protocol (docs/fanout.md) into the view."""
        self.messages += 1
        kind, seq, high = msg.get("type"), int(msg.get("seq") or 0), msg.get("high_bid")
        if kind == "price":
            if seq != self.seq + 1:
                anomaly = Anomaly.GAP if seq > self.seq else Anomaly.WENT_BACK
                self.anomalies.append((anomaly, {"after_seq": self.seq, "message": dict(msg)}))
            decided = msg.get("decided_ms")
            if isinstance(decided, int):
                age = received_ms - decided
                region.latency.add(age)
                region.stalest_ms = max(region.stalest_ms, age)
            region.saw(seq, high, msg, self)
        elif kind == "snapshot":
            if msg.get("resync"):
                self.resyncs += 1
                self.skipped += max(0, seq - self.seq - 1)
                decided = msg.get("decided_ms")
                if isinstance(decided, int):
                    region.took_resync(received_ms - decided)
            if seq < self.seq:
                self.anomalies.append(
                    (Anomaly.WENT_BACK, {"after_seq": self.seq, "message": dict(msg)})
                )
            if seq:
                region.saw(seq, high, msg, self)
        else:
            return
        if isinstance(high, int):
            if self.high_bid is not None and high < self.high_bid:
                self.anomalies.append(
                    (Anomaly.PRICE_DOWN, {"after": self.high_bid, "message": dict(msg)})
                )
            self.high_bid = high
        self.seq = max(self.seq, seq)


@dataclass(slots=True)
class RegionSightings:
    """Every observer of one region, the decision -> observer latency they measured and the
    price each seq showed (the first sighting; a different one is a :attr:`Anomaly.PHANTOM`).

    Staleness is the age of every price an observer was shown when it was shown: the ``price``
    messages (:attr:`latency`) and the resync snapshots that skipped to the latest
    (:attr:`resync_age`). :attr:`stalest_ms` is the worst since the herd last sampled it."""

    region: str
    views: list[ObserverView] = field(default_factory=list)
    latency: Histogram = field(default_factory=Histogram)
    resync_age: Histogram = field(default_factory=Histogram)
    stalest_ms: float = 0.0
    connected: int = 0
    """Observer sockets of the region open now (handshake done, not yet closed)."""
    prices: dict[int, int | None] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    """Seqs for which observers in different client processes saw different prices (found when
    their sightings are merged; within one process it is an observer's :attr:`Anomaly.PHANTOM`)."""
    decoded: dict[bytes, dict[str, Any]] = field(default_factory=dict)

    def decode(self, raw: bytes) -> dict[str, Any]:
        """``raw`` as JSON, parsed once for every observer of the region: the fan-out sends
        each price as the same bytes to all of them, and parsing was half a delivery's cost.
        (Callers only read the dict.)"""
        msg = self.decoded.get(raw)
        if msg is None:
            if len(self.decoded) >= DECODED_KEPT:
                self.decoded.clear()
            msg = self.decoded[raw] = json.loads(raw)
        return msg

    def took_resync(self, age_ms: float) -> None:
        self.resync_age.add(age_ms)
        self.stalest_ms = max(self.stalest_ms, age_ms)

    def staleness(self) -> Histogram:
        both = Histogram()
        both.merge(self.latency)
        both.merge(self.resync_age)
        return both

    def observer(self, name: str) -> ObserverView:
        view = ObserverView(self.region, name)
        self.views.append(view)
        return view

    def saw(self, seq: int, high: object, msg: Mapping[str, Any], view: ObserverView) -> None:
        price = high if isinstance(high, int) else None
        first = self.prices.setdefault(seq, price)
        if first != price:
            view.anomalies.append((Anomaly.PHANTOM, {"first_seen": first, "message": dict(msg)}))
