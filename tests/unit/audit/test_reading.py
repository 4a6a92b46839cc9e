from __future__ import annotations

import pytest

from gavel.auction import Outcome
from gavel.audit.reading import Cursor, Filters, QueryError, check_limit, parse_outcome
from gavel.audit.rows import attempt_from_event
from tests.unit.audit.test_rows import EVENT


def test_page_tokens_round_trip() -> None:
    cursor = Cursor(1_700_000_000_000 - 1_700_000_000_000 % 60_000, 1_700_000_000_003, "e-1/ü")
    token = cursor.token()
    assert "=" not in token
    assert "/" not in token
    assert "+" not in token
    assert Cursor.from_token(token) == cursor


@pytest.mark.parametrize(
    "token", ["", "!!!", "bm90IGpzb24", "WzEsMl0", "WyJhIiwxLCJlIl0", "eyJhIjoxfQ"]
)
def test_bad_page_tokens_are_refused(token: str) -> None:
    with pytest.raises(QueryError, match="invalid page token"):
        Cursor.from_token(token)


def test_the_cursor_after_a_row_names_its_key() -> None:
    row = attempt_from_event(EVENT)
    assert Cursor.after(row) == Cursor(row.bucket, EVENT.decision.decided_ms, EVENT.event_id)


def test_filters() -> None:
    row = attempt_from_event(EVENT)  # alice, accepted
    assert Filters().matches(row)
    assert Filters(bidder="alice", outcome=Outcome.ACCEPTED).matches(row)
    assert not Filters(bidder="bob").matches(row)
    assert not Filters(outcome=Outcome.REJECTED).matches(row)


def test_outcome_and_limit_are_checked() -> None:
    assert parse_outcome("Accepted") is Outcome.ACCEPTED
    assert parse_outcome("") is None
    with pytest.raises(QueryError, match="accepted or rejected"):
        parse_outcome("won")
    assert check_limit(1000) == 1000
    for bad in (0, 1001, -5):
        with pytest.raises(QueryError, match="limit"):
            check_limit(bad)
