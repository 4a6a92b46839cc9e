from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import pytest

from gavel.auction import Decision, Outcome, Reason
from gavel.audit.rows import (
    MAX_TEXT_BYTES,
    InvalidAttemptError,
    attempt_from_event,
    attempt_from_row,
    bucket_of,
)
from gavel.audit.schema import BUCKET_MS, COLUMN_NAMES
from gavel.chain import ChainLink
from gavel.events import BidEvent
from tests.support.records import changed

EVENT = BidEvent(
    event_id="e-1",
    drop="d1",
    bidder="alice",
    bid_id="7",
    amount=1500,
    received_ms=1_700_000_000_000,
    region="us",
    decision=Decision(
        outcome=Outcome.ACCEPTED,
        reason=Reason.ACCEPTED,
        seq=3,
        high_bid=1500,
        leader="alice",
        prev_leader=None,
        min_next=1600,
        ends_at_ms=99_000,
        reserve_met=False,
        decided_ms=1_700_000_000_003,
    ),
)


def test_bucket_is_the_start_of_the_minute() -> None:
    assert BUCKET_MS == 60_000
    assert bucket_of(0) == 0
    assert bucket_of(59_999) == 0
    assert bucket_of(60_000) == 60_000
    assert bucket_of(1_700_000_000_003) == 1_700_000_000_003 - 1_700_000_000_003 % 60_000


def test_row_holds_every_field_of_the_event() -> None:
    row = attempt_from_event(EVENT)
    assert row.bucket == bucket_of(EVENT.decision.decided_ms)
    expected = json.loads(EVENT.to_json())
    expected["schema_v"] = expected.pop("v")
    assert row.to_json() == expected
    assert dict(zip(COLUMN_NAMES, row.values(), strict=True))["drop_id"] == "d1"


def test_columns_and_the_readers_json_keep_their_order_and_text_values() -> None:
    row = attempt_from_event(EVENT)
    assert row.values() == (
        *("d1", 1_699_999_980_000, 1_700_000_000_003, "e-1", "alice", "7", 1500),
        *("accepted", "accepted", 3, 1500, "alice", None, 1600, 99_000, False),
        *(1_700_000_000_000, "us", 2, None, None, None),
    )
    assert [type(v) for v in row.values()[7:9]] == [str, str]  # text, not the enums
    assert list(row.to_json()) == [
        *("drop", "decided_ms", "event_id", "bidder", "bid_id", "amount", "outcome"),
        *("reason", "seq", "high_bid", "leader", "prev_leader", "min_next", "ends_at_ms"),
        *("reserve_met", "received_ms", "region", "schema_v"),
        *("chain_n", "chain_prev", "chain_hash"),
    ]


def test_a_row_read_back_is_the_row_written() -> None:
    row = attempt_from_event(EVENT)
    driver_row = SimpleNamespace(**dict(zip(COLUMN_NAMES, row.values(), strict=True)))
    assert attempt_from_row(driver_row) == row


def test_a_chained_row_keeps_its_link_and_an_old_row_reads_without_one() -> None:
    link = ChainLink(4, "ab" * 20, "cd" * 20)
    row = attempt_from_event(dataclasses.replace(EVENT, chain=link))
    columns = row.columns()
    assert (columns["chain_n"], columns["chain_prev"], columns["chain_hash"]) == (
        4,
        link.prev,
        link.hash,
    )
    assert attempt_from_row(SimpleNamespace(**columns)).event.chain == link
    # A row written before migration 2 reads its new columns as null: no link, schema v1.
    old = {**attempt_from_event(EVENT).columns(), "schema_v": 1}
    assert attempt_from_row(SimpleNamespace(**old)).event.chain is None
    # A link whose columns were partly cleared is kept, malformed, for the verifier to flag.
    cleared = attempt_from_row(SimpleNamespace(**{**columns, "chain_prev": None})).event.chain
    assert cleared == ChainLink(4, "", "cd" * 20)
    assert cleared is not None
    assert not cleared.well_formed()


def test_write_timestamp_is_the_decided_time_so_replays_write_identical_cells() -> None:
    row = attempt_from_event(EVENT)
    assert row.write_timestamp_us == EVENT.decision.decided_ms * 1000
    assert attempt_from_event(EVENT) == row


def test_rejected_attempt_with_no_high_bid_yet() -> None:
    event = changed(
        EVENT,
        outcome=Outcome.REJECTED,
        reason=Reason.NOT_OPEN,
        high_bid=None,
        leader=None,
        min_next=None,
        ends_at_ms=None,
    )
    row = attempt_from_event(event)
    assert (row.to_json()["outcome"], row.to_json()["reason"]) == ("rejected", "not_open")
    d = row.event.decision
    assert (d.high_bid, d.leader, d.min_next, d.ends_at_ms) == (None, None, None, None)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount": "1500"}, "amount: expected an integer"),
        ({"amount": True}, "amount: expected an integer"),
        ({"amount": 2**63}, "amount: .* out of range"),
        ({"seq": 1.5}, "seq: expected an integer"),
        ({"high_bid": "x"}, "high_bid: expected an integer"),
        ({"drop": ""}, "drop: must not be empty"),
        ({"event_id": ""}, "event_id: must not be empty"),
        ({"event_id": 7}, "event_id: expected a string"),
        ({"bidder": None}, "bidder: expected a string"),
        ({"leader": 3}, "leader: expected a string"),
        ({"region": "x" * (MAX_TEXT_BYTES + 1)}, "region: longer than"),
        ({"bid_id": "\ud800"}, "bid_id: holds a lone surrogate"),
        ({"decided_ms": -1}, "decided_ms: .* out of range"),
        ({"decided_ms": 2**62}, "decided_ms: .* out of range"),
        ({"received_ms": None}, "received_ms: expected an integer"),
        ({"reserve_met": 1}, "reserve_met: expected true or false"),
    ],
)
def test_fields_that_do_not_fit_the_table_are_refused(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidAttemptError, match=message):
        attempt_from_event(changed(EVENT, **changes))
