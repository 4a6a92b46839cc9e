from __future__ import annotations

import dataclasses
import json
import re

import pytest

from gavel import events
from gavel.auction import Decision, Outcome, Reason
from gavel.chain import ChainLink
from tests.support import lua
from tests.support.records import STREAM_ENTRY as FIELDS
from tests.support.records import STREAM_ENTRY_V1, flat_names

# Schema v1 on the wire, as it was before the chain (and before the records were nested).
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
# Schema v2: v1 and the chain link.
LINKED_JSON = (
    b'{"event_id":"e-1","drop":"d","bidder":"alice","bid_id":"7","amount":1500,'
    b'"outcome":"accepted","reason":"accepted","seq":3,"high_bid":1500,"leader":"alice",'
    b'"prev_leader":null,"min_next":1600,"ends_at_ms":99,"reserve_met":false,'
    b'"received_ms":10,"decided_ms":11,"region":"us","chain_n":4,'
    b'"chain_prev":"abababababababababababababababababababab",'
    b'"chain_hash":"0123456789abcdef0123456789abcdef01234567","v":2}'
)
EDGE_JSON_V2 = EDGE_JSON.replace(
    b'"v":1', b'"chain_n":null,"chain_prev":null,"chain_hash":null,"v":2'
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


def test_bid_json_is_schema_v2_and_price_json_v1_byte_for_byte() -> None:
    e = events.BidEvent.from_stream(FIELDS)
    assert e.chain == ChainLink(4, "ab" * 20, "0123456789abcdef0123456789abcdef01234567")
    assert e.to_json() == LINKED_JSON
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
    assert edge.to_json() == EDGE_JSON_V2
    assert events.BidEvent.from_json(EDGE_JSON_V2) == edge


def test_v1_bid_events_are_still_read_and_written_back_as_v1() -> None:
    """An old disk outbox or an old relay's records: no link, byte for byte as they were."""
    for raw in (ACCEPTED_JSON, EDGE_JSON):
        e = events.BidEvent.from_json(raw)
        assert (e.v, e.chain) == (1, None)
        assert e.to_json() == raw
    old_entry = events.BidEvent.from_stream(STREAM_ENTRY_V1)
    assert old_entry.chain is None
    assert old_entry.decision == events.BidEvent.from_stream(FIELDS).decision


def test_a_link_is_all_three_fields_or_none() -> None:
    for name in events.CHAIN_FIELDS:
        with pytest.raises(events.EventError, match=name):
            events.BidEvent.from_stream({k: v for k, v in FIELDS.items() if k != name.encode()})
    half = json.loads(LINKED_JSON) | {"chain_hash": None}
    with pytest.raises(events.EventError, match="all set or all null"):
        events.BidEvent.from_json(json.dumps(half).encode())


def test_attempt_values_are_the_outbox_entrys_strings_in_field_order() -> None:
    """What a link hashes, rebuilt from an event (or a row): the entry's own strings."""
    for entry in (
        FIELDS,
        {
            **FIELDS,
            b"outcome": b"rejected",
            b"reason": b"not_open",
            b"high_bid": b"",
            b"leader": b"",
            b"reserve_met": b"1",
            b"amount": b"0",
        },
    ):
        e = events.BidEvent.from_stream(entry)
        assert e.attempt_values() == [entry[k.encode()].decode() for k in events.ATTEMPT_FIELDS]
        assert events.BidEvent.from_json(e.to_json()).attempt_values() == e.attempt_values()


@pytest.mark.parametrize("raw", ["+5", " 5", "1_0", "05", "5.0", "1e3", "", "-0", "abc", "٣"])
def test_only_canonical_decimal_amounts_are_kept(raw: str) -> None:
    """place_bid.lua hashes anything else as '0' (its amount_text): the row must say 0 too."""
    e = events.BidEvent.from_stream({**FIELDS, b"amount": raw.encode()})
    assert e.amount == 0
    assert events.BidEvent.from_stream({**FIELDS, b"amount": b"-12"}).amount == -12


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
        b'{"v": 3}',
        b'{"v": true}',
        b'{"v": 1, "drop": "x"}',
        LINKED_JSON.replace(b'"v":2', b'"v":1'),
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
    """The entry place_bid.lua XADDs (its table ``f``, then the link appended to it), BidEvent
    (attempt + decision + link) and the JSON keys agree."""
    (xadd,) = [c for c in lua.calls("place_bid") if c.command == "XADD"]
    assert xadd.quoted == ["*"]
    record = lua.function_body("place_bid", "record")
    table = record[record.index("local f = {") :]
    names = re.findall(r"'(\w+)',", lua._balanced(table, table.index("{") + 1, "{", "}"))
    assert tuple(names) == events.ATTEMPT_FIELDS
    appended = re.search(r"f\[k \+ 1\][^=]*=\s*([^\n]+)", record)
    assert appended is not None
    assert tuple(re.findall(r"'(\w+)'", appended.group(1))) == events.CHAIN_FIELDS
    assert events.STREAM_FIELDS == events.ATTEMPT_FIELDS + events.CHAIN_FIELDS
    assert set(events.BID_KEYS) == flat_names(events.BidEvent)


def test_a_price_event_is_an_accepted_decision_without_its_bidders() -> None:
    hidden = {"outcome", "reason", "leader", "prev_leader"}
    assert set(events.PRICE_KEYS) == flat_names(events.PriceEvent) - hidden
