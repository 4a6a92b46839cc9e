from __future__ import annotations

import pytest

from gavel import events
from gavel.auction import Outcome, Reason

FIELDS = {
    b"event_id": b"e-1",
    b"drop": b"d",
    b"bidder": b"alice",
    b"bid_id": b"7",
    b"amount": b"1500",
    b"outcome": b"accepted",
    b"reason": b"accepted",
    b"seq": b"3",
    b"high_bid": b"1500",
    b"leader": b"alice",
    b"prev_leader": b"",
    b"min_next": b"1600",
    b"ends_at_ms": b"99",
    b"reserve_met": b"0",
    b"received_ms": b"10",
    b"decided_ms": b"11",
    b"region": b"us",
}


def test_outbox_entry_parses_and_round_trips_as_json() -> None:
    e = events.BidEvent.from_stream(FIELDS)
    assert (e.amount, e.outcome, e.reason, e.prev_leader, e.high_bid) == (
        1500,
        Outcome.ACCEPTED,
        Reason.ACCEPTED,
        None,
        1500,
    )
    assert events.BidEvent.from_json(e.to_json()) == e
    assert b'"v":1' in e.to_json()


def test_price_event_hides_the_bidder_behind_a_per_drop_alias() -> None:
    p = events.BidEvent.from_stream(FIELDS).price_event()
    assert p.leader_alias == events.leader_alias("d", "alice") != events.leader_alias("e", "alice")
    assert b"alice" not in p.to_json()
    assert events.PriceEvent.from_json(p.to_json()) == p


def test_rejected_bids_have_no_price_event() -> None:
    e = events.BidEvent.from_stream(
        {**FIELDS, b"outcome": b"rejected", b"reason": b"below_minimum"}
    )
    with pytest.raises(events.EventError):
        e.price_event()


@pytest.mark.parametrize("raw", [b"not json", b"[1]", b'{"v": 2}', b'{"v": 1, "drop": "x"}'])
def test_unknown_or_broken_payloads_are_refused(raw: bytes) -> None:
    with pytest.raises(events.EventError):
        events.BidEvent.from_json(raw)
