from __future__ import annotations

import pytest

from gavel.fanout.observers import Report, Tally


def test_a_report_has_the_current_count_and_the_most_since_the_last_one() -> None:
    t = Tally()
    for _ in range(3):
        t.opened("d")
    t.closed("d")
    t.opened("e")
    assert t.due() == [Report("d", 2, 3), Report("e", 1, 1)]
    t.closed("d")
    assert t.due() == [Report("d", 1, 2), Report("e", 1, 1)]  # the interval started at 2


def test_a_crowd_that_came_and_went_between_reports_is_reported_once_then_forgotten() -> None:
    t = Tally()
    for _ in range(5):
        t.opened("d")
    for _ in range(5):
        t.closed("d")
    assert t.due() == [Report("d", 0, 5)]
    assert t.due() == []
    assert t.current == {}


def test_nothing_is_reported_without_sockets() -> None:
    assert Tally().due() == []


def test_closing_a_socket_never_opened_is_a_bug_said_so() -> None:
    with pytest.raises(ValueError, match="never opened"):
        Tally().closed("d")
