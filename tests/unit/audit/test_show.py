from __future__ import annotations

import io
import json

from rich.console import Console

from gavel.auction import Outcome, Reason
from gavel.audit.rows import attempt_from_event
from gavel.audit.show import format_time, json_lines, table
from tests.support.records import changed
from tests.unit.audit.test_rows import EVENT


def test_time_format_is_utc_with_milliseconds() -> None:
    assert format_time(0) == "1970-01-01 00:00:00.000"
    assert format_time(1_700_000_000_003) == "2023-11-14 22:13:20.003"


def test_table_shows_outcome_reason_and_figures() -> None:
    rows = [
        attempt_from_event(EVENT),
        attempt_from_event(
            changed(EVENT, event_id="e-2", outcome=Outcome.REJECTED, reason=Reason.BELOW_MINIMUM)
        ),
    ]
    out = io.StringIO()
    Console(file=out, width=250).print(table("d1", rows, caption="more: --page-token X"))
    text = out.getvalue()
    assert "Audit trail of d1" in text
    assert "accepted" in text
    assert "below_minimum" in text
    assert "1,500" in text
    assert "1,600" in text
    assert "2023-11-14 22:13:20.003" in text
    assert "e-2" in text
    assert "more: --page-token X" in text


def test_json_lines_are_one_compact_object_per_attempt() -> None:
    row = attempt_from_event(EVENT)
    lines = list(json_lines([row, row]))
    assert len(lines) == 2
    assert json.loads(lines[0]) == row.to_json()
    assert " " not in lines[0]
