from __future__ import annotations

import json

import pytest

from gavel import topics
from gavel.auction import Outcome, Reason
from gavel.events import BidEvent, PriceEvent
from gavel.relay.plan import (
    StreamEntry,
    count_by_topic,
    plan_batch,
    plan_segment,
    records_for_event,
)
from tests.support.records import STREAM_ENTRY

FIELDS = {**STREAM_ENTRY, b"drop": b"d1"}
REJECTED = {**FIELDS, b"event_id": b"e-2", b"outcome": b"rejected", b"reason": b"below_minimum"}


def entry(fields: dict[bytes, bytes], entry_id: bytes = b"1-0", drop: str = "d1") -> StreamEntry:
    return StreamEntry("{" + drop + "}:events", drop, entry_id, fields)


def test_accepted_goes_to_audit_and_price_rejected_only_to_audit_keyed_by_drop() -> None:
    plan = plan_batch([entry(FIELDS, b"1-0"), entry(REJECTED, b"2-0")])
    assert [(r.topic, r.key) for r in plan.records] == [
        (topics.AUDIT, b"d1"),
        (topics.PRICE, b"d1"),
        (topics.AUDIT, b"d1"),
    ]
    audit = BidEvent.from_json(plan.records[0].value)
    assert audit == BidEvent.from_stream(FIELDS)
    assert PriceEvent.from_json(plan.records[1].value) == audit.price_event()
    assert BidEvent.from_json(plan.records[2].value).decision.reason is Reason.BELOW_MINIMUM
    assert plan.acks == {"{d1}:events": (b"1-0", b"2-0")}
    assert (plan.events, plan.entries, plan.dead_letters) == (2, 2, ())


def test_entries_of_several_streams_are_acknowledged_per_stream_in_order() -> None:
    plan = plan_batch(
        [
            entry(FIELDS, b"1-0", "a"),
            entry(REJECTED, b"5-0", "b"),
            entry(REJECTED, b"2-0", "a"),
        ]
    )
    assert plan.acks == {"{a}:events": (b"1-0", b"2-0"), "{b}:events": (b"5-0",)}
    assert count_by_topic(plan.records) == {topics.AUDIT: 3, topics.PRICE: 1}


def test_an_entry_deleted_while_pending_is_only_acknowledged() -> None:
    plan = plan_batch([entry({}, b"9-0")])
    assert plan.records == ()
    assert plan.acks == {"{d1}:events": (b"9-0",)}
    assert plan.events == 0


@pytest.mark.parametrize(
    "fields",
    [
        {b"event_id": b"x"},  # fields missing
        {**FIELDS, b"outcome": b"maybe"},  # unknown outcome
        {**FIELDS, b"seq": b"\xff\xfe"},  # not UTF-8
        {**FIELDS, b"high_bid": b""},  # accepted without a price
    ],
)
def test_an_entry_that_does_not_parse_is_dead_lettered_and_still_acknowledged(
    fields: dict[bytes, bytes],
) -> None:
    plan = plan_batch([entry(fields, b"3-0"), entry(REJECTED, b"4-0")])
    dead, audit = plan.records
    assert (dead.topic, dead.key) == (topics.AUDIT_DEAD_LETTER, b"d1")
    body = json.loads(dead.value)
    assert (body["v"], body["source"]) == (1, "stream")
    assert body["payload"]["entry_id"] == "3-0"
    assert body["payload"]["fields"]["event_id"] == fields[b"event_id"].decode()
    assert body["reason"]
    assert audit.topic == topics.AUDIT
    assert plan.acks == {"{d1}:events": (b"3-0", b"4-0")}
    assert len(plan.dead_letters) == 1
    assert plan.dead_letters[0].startswith("{d1}:events 3-0: ")


def test_records_for_an_event_from_the_disk_outbox() -> None:
    edge = BidEvent.from_stream(
        {**REJECTED, b"reason": b"unavailable", b"high_bid": b"", b"leader": b""}
    )
    assert [r.topic for r in records_for_event(edge)] == [topics.AUDIT]
    accepted = BidEvent.from_stream(FIELDS)
    assert [r.topic for r in records_for_event(accepted)] == [topics.AUDIT, topics.PRICE]


def test_a_segment_event_without_a_price_is_dead_lettered() -> None:
    good = BidEvent.from_stream(REJECTED)
    raw = BidEvent.from_stream({**FIELDS, b"event_id": b"e-9"}).to_json()
    broken = BidEvent.from_json(raw.replace(b'"high_bid":1500', b'"high_bid":null'))
    assert broken.decision.outcome is Outcome.ACCEPTED
    plan = plan_segment("gw-1-2-3-1.jsonl", [good, broken])
    assert [r.topic for r in plan.records] == [topics.AUDIT, topics.AUDIT_DEAD_LETTER]
    body = json.loads(plan.records[1].value)
    assert (body["source"], body["payload"]["segment"]) == ("outbox", "gw-1-2-3-1.jsonl")
    assert body["payload"]["event"]["event_id"] == "e-9"
    assert plan.events == 2
    (reason,) = plan.dead_letters
    assert reason.startswith("gw-1-2-3-1.jsonl e-9: ")
