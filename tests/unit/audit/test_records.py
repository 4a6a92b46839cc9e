from __future__ import annotations

import base64
import json

from hypothesis import given
from hypothesis import strategies as st

from gavel import topics
from gavel.audit.records import Incoming, Poison, Write, classify, dead_letter
from tests.unit.audit.test_rows import EVENT


def incoming(value: bytes | None, key: bytes | None = b"d1") -> Incoming:
    return Incoming(topics.AUDIT, 2, 41, key, value, 1_700_000_000_000)


def test_a_v1_bid_event_becomes_a_write() -> None:
    verdict = classify(incoming(EVENT.to_json()))
    assert isinstance(verdict, Write)
    assert verdict.attempt.event.event_id == "e-1"


def _event_with(**changes: object) -> bytes:
    obj = json.loads(EVENT.to_json())
    obj.update(changes)
    return json.dumps(obj).encode()


def test_poison_records_say_why() -> None:
    cases = {
        b"hello": "not JSON",
        b"[1, 2]": "not a JSON object",
        _event_with(v=3): "unknown schema version 3",
        _event_with(v=1): "bid event: missing [], unknown ['chain_hash', 'chain_n', 'chain_prev']",
        _event_with(chain_n=2): "chain fields must be all set or all null",
        _event_with(outcome="maybe"): "bid event",
        _event_with(surprise=1): "bid event",
        _event_with(amount="12"): "amount: expected an integer",
        b"\xff\xfe": "not JSON",
        b"[" * 100_000 + b"]" * 100_000: "",
        b'{"v": 1, "amount": 1' + b"0" * 5000 + b"}": "",
    }
    for value, reason in cases.items():
        verdict = classify(incoming(value))
        assert isinstance(verdict, Poison), value[:40]
        assert reason in verdict.reason
    assert classify(incoming(None)) == Poison("record has no value")


def test_the_drop_comes_from_the_event_not_the_key() -> None:
    verdict = classify(incoming(EVENT.to_json(), key=b"another"))
    assert isinstance(verdict, Write)
    assert verdict.attempt.partition[0] == "d1"


@given(st.binary(max_size=300))
def test_any_bytes_are_a_write_or_poison_never_an_exception(value: bytes) -> None:
    assert isinstance(classify(incoming(value)), Write | Poison)


def test_a_dead_letter_keeps_the_original_bytes_the_reason_and_where_it_was() -> None:
    letter = dead_letter(incoming(b"\xffnot json"), "bid event: not JSON")
    assert letter.topic == topics.AUDIT_DEAD_LETTER
    assert letter.key == b"d1"
    body = json.loads(letter.value)
    assert body["v"] == 1
    assert body["source"] == "audit-writer"
    assert body["reason"] == "bid event: not JSON"
    assert body["payload"]["topic"] == topics.AUDIT
    assert (body["payload"]["partition"], body["payload"]["offset"]) == (2, 41)
    assert base64.b64decode(body["payload"]["value_base64"]) == b"\xffnot json"


def test_a_dead_letter_of_a_record_without_key_or_value() -> None:
    body = json.loads(dead_letter(incoming(None, key=None), "record has no value").value)
    assert body["payload"]["key"] is None
    assert body["payload"]["value_base64"] == ""


def test_rows_are_grouped_per_partition_within_limits() -> None:
    from dataclasses import replace

    from gavel.audit.records import batch_by_partition
    from gavel.audit.rows import attempt_from_event

    base = attempt_from_event(EVENT)
    other_drop = replace(base, event=replace(EVENT, drop="d2"))
    next_bucket = replace(base, bucket=base.bucket + 60_000)
    items = [base] * 20 + [other_drop, next_bucket, other_drop]
    groups = batch_by_partition(items, lambda a: a, max_rows=16)
    assert [len(g) for g in groups] == [16, 4, 2, 1]
    assert {a.partition for a in groups[1]} == {("d1", base.bucket)}
    assert groups[2] == [other_drop, other_drop]
    assert sum(len(g) for g in groups) == len(items)
    big = replace(base, event=replace(EVENT, bid_id="x" * 1000))
    assert [len(g) for g in batch_by_partition([big] * 10, lambda a: a, max_bytes=2_500)] == [
        2,
        2,
        2,
        2,
        2,
    ]
    assert batch_by_partition([], lambda a: a) == []
