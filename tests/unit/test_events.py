from __future__ import annotations

import dataclasses
import json

import pytest

from gavel import events
from gavel.auction import Decision, Outcome, Reason
from tests.support import lua
from tests.support.records import STREAM_ENTRY as FIELDS
from tests.support.records import flat_names

# Schema v1 on the wire, as it was before the records were nested: byte for byte.
ACCEPTED_JSON = (
    b'{"event_id":"e-1","drop":"d","bidder":"alice","bid_id":"7","amount":1500,'
    b'"outcome":"accepted","reason":"accepted","seq":3,"high_bid":1500,"leader":"alice",'
    b'"prev_leader":null,"min_next":1600,"ends_at_ms":99,"reserve_met":false,'
    b'"received_ms":10,"decided_ms":11,"region":"us","v":1}'
)
PRICE_JSON = (
    b'{"event_id":"e-1","drop":"d","seq":3,"high_bid":1500,"leader_alias":"bidder-114ef8e4",'
    b'"min_next":1600,"ends_at_ms":99,"reserve_met":false,"decided_ms":11,"v":1}'
)
EDGE_JSON = (
    b'{"event_id":"e-2","drop":"d","bidder":"bob","bid_id":"8","amount":5,'
    b'"outcome":"rejected","reason":"unavailable","seq":0,"high_bid":null,"leader":null,'
    b'"prev_leader":null,"min_next":null,"ends_at_ms":null,"reserve_met":false,'
    b'"received_ms":20,"decided_ms":21,"region":"eu","v":1}'
)


def test_outbox_entry_parses_and_round_trips_as_json() -> None:
    e = events.BidEvent.from_stream(FIELDS)
    d = e.decision
    assert (e.amount, d.outcome, d.reason, d.prev_leader, d.high_bid) == (
        1500,
        Outcome.ACCEPTED,
        Reason.ACCEPTED,
        None,
        1500,
    )
    assert events.BidEvent.from_json(e.to_json()) == e


def test_bid_and_price_json_are_schema_v1_byte_for_byte() -> None:
    e = events.BidEvent.from_stream(FIELDS)
    assert e.to_json() == ACCEPTED_JSON
    assert e.price_event().to_json() == PRICE_JSON
    edge = events.BidEvent(
        event_id="e-2",
        drop="d",
        bidder="bob",
        bid_id="8",
        amount=5,
        received_ms=20,
        region="eu",
        decision=Decision.edge(Reason.UNAVAILABLE, 21),
    )
    assert edge.to_json() == EDGE_JSON
    assert events.BidEvent.from_json(EDGE_JSON) == edge


def test_price_event_hides_the_bidder_behind_a_per_drop_alias() -> None:
    p = events.BidEvent.from_stream(FIELDS).price_event()
    assert p.leader_alias == events.leader_alias("d", "alice") != events.leader_alias("e", "alice")
    assert (p.decision.leader, p.decision.prev_leader) == (None, None)
    assert b"alice" not in p.to_json()
    assert events.PriceEvent.from_json(p.to_json()) == p


def test_rejected_bids_have_no_price_event() -> None:
    e = events.BidEvent.from_stream(
        {**FIELDS, b"outcome": b"rejected", b"reason": b"below_minimum"}
    )
    with pytest.raises(events.EventError):
        e.price_event()


def test_an_accepted_decision_without_every_figure_has_no_price_event() -> None:
    e = events.BidEvent.from_stream(FIELDS)
    broken = dataclasses.replace(e, decision=dataclasses.replace(e.decision, min_next=None))
    with pytest.raises(events.EventError, match="only accepted bids"):
        broken.price_event()


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1]",
        b'{"v": 2}',
        b'{"v": 1, "drop": "x"}',
        ACCEPTED_JSON.replace(b'"v":1', b'"v":1,"extra":0'),
        ACCEPTED_JSON.replace(b'"outcome":"accepted"', b'"outcome":"maybe"'),
    ],
)
def test_unknown_or_broken_payloads_are_refused(raw: bytes) -> None:
    with pytest.raises(events.EventError):
        events.BidEvent.from_json(raw)


def test_price_payloads_with_missing_or_unknown_keys_are_refused() -> None:
    obj = json.loads(PRICE_JSON)
    for broken in ({**obj, "leader": "alice"}, {k: v for k, v in obj.items() if k != "seq"}):
        with pytest.raises(events.EventError):
            events.PriceEvent.from_json(json.dumps(broken).encode())


def test_an_outbox_entry_missing_a_field_is_refused() -> None:
    for name in FIELDS:
        with pytest.raises(events.EventError, match=name.decode()):
            events.BidEvent.from_stream({k: v for k, v in FIELDS.items() if k != name})


def test_the_script_writes_the_bid_event_to_its_stream_field_for_field() -> None:
    """The XADD of place_bid.lua, BidEvent (attempt + decision) and the JSON keys agree."""
    (xadd,) = [c for c in lua.calls("place_bid") if c.command == "XADD"]
    assert xadd.quoted[0] == "*"
    assert tuple(xadd.quoted[1:]) == events.STREAM_FIELDS
    assert set(events.BID_KEYS) == flat_names(events.BidEvent)


def test_a_price_event_is_an_accepted_decision_without_its_bidders() -> None:
    hidden = {"outcome", "reason", "leader", "prev_leader"}
    assert set(events.PRICE_KEYS) == flat_names(events.PriceEvent) - hidden
