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
    assert verdict.attempt.event_id == "e-1"


def _event_with(**changes: object) -> bytes:
    obj = json.loads(EVENT.to_json())
    obj.update(changes)
    return json.dumps(obj).encode()


def test_poison_records_say_why() -> None:
    cases = {
        b"hello": "not JSON",
        b"[1, 2]": "not a JSON object",
        _event_with(v=2): "unknown schema version 2",
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
    assert verdict.attempt.drop_id == "d1"


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
