from __future__ import annotations

import json

from gavel import events
from gavel.auction import Decision, Reason
from gavel.bidding import BidResult
from tests.support import lua
from tests.support.records import STREAM_ENTRY as FIELDS
from tests.support.records import flat_names


def test_the_script_answers_with_the_decision_and_what_only_the_bidder_is_told() -> None:
    """place_bid.lua's answer table and what BidResult reads are the same fields."""
    answer = lua.table_keys(lua.function_body("place_bid", "outcome"))
    assert set(answer) == flat_names(BidResult)
    assert len(answer) == len(set(answer))
    for table in lua.returned_tables("place_bid"):  # the short answers for unknown drops
        assert set(lua.table_keys(table)) <= set(answer)


def test_script_strings_become_a_decision_the_same_way_in_answer_and_stream() -> None:
    answer = {k.decode(): v.decode() for k, v in FIELDS.items()}
    result = BidResult.from_script(json.dumps({**answer, "duplicate": "1", "retry_after_ms": "0"}))
    assert result.decision == events.BidEvent.from_stream(FIELDS).decision
    assert (result.event_id, result.duplicate, result.retry_after_ms) == ("e-1", True, 0)


def test_the_scripts_unknown_drop_answer_is_a_decision_without_figures() -> None:
    raw = '{"outcome":"rejected","reason":"unknown_drop","event_id":"e","decided_ms":"7",'
    result = BidResult.from_script(raw + '"duplicate":"0"}')
    assert result.decision == Decision.edge(Reason.UNKNOWN_DROP, 7)
    assert (result.duplicate, result.retry_after_ms) == (False, 0)
