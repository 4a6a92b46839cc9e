from __future__ import annotations

import dataclasses
import random

from hypothesis import given
from hypothesis import strategies as st

from gavel.auction import Reason
from gavel.audit.chain_check import Anchor, Kind, Report, check
from gavel.chain import ChainLink, seal
from tests.support.chain_rows import DROP, attempt, edge, head_of, linked
from tests.support.records import changed


def kinds(report: Report) -> list[tuple[Kind, int | None]]:
    return [(f.kind, f.n) for f in report.findings]


def test_an_untouched_chain_is_intact_in_any_order_and_edge_rows_are_only_counted() -> None:
    rows = linked(20)
    shuffled = [*rows, edge(1), edge(2)]
    random.Random(7).shuffle(shuffled)
    report = check(DROP, shuffled, head_of(rows))
    assert report.ok, report.findings
    assert (report.rows, report.chained, report.edge, report.first_n) == (22, 20, 2, 1)
    assert report.head == rows[-1]


def test_a_row_edited_in_place_is_changed() -> None:
    rows = linked(10)
    rows[4] = changed(rows[4], amount=999_999)
    report = check(DROP, rows)
    assert kinds(report) == [(Kind.CHANGED, 5)]
    assert report.findings[0].event == rows[4]


def test_a_row_rewritten_with_its_hash_recomputed_is_replaced() -> None:
    """An unkeyed hash can be recomputed; the next link still names the original."""
    rows = linked(10)
    forged = changed(rows[4], amount=999_999)
    assert rows[4].chain is not None
    link = seal(rows[4].chain.prev, 5, forged.attempt_values())
    rows[4] = dataclasses.replace(forged, chain=link)
    assert kinds(check(DROP, rows)) == [(Kind.REPLACED, 5)]


def test_removed_rows_are_named_by_position_in_the_middle_and_at_the_start() -> None:
    rows = linked(10)
    middle = check(DROP, rows[:3] + rows[5:])
    assert kinds(middle) == [(Kind.REMOVED, 4)]
    assert middle.findings[0].last == 5
    assert kinds(check(DROP, rows[2:])) == [(Kind.REMOVED, 1)]


def test_rows_cut_from_the_end_show_only_against_an_anchor() -> None:
    rows = linked(10)
    assert check(DROP, rows[:8]).ok  # the rows alone cannot tell
    report = check(DROP, rows[:8], head_of(rows))
    assert kinds(report) == [(Kind.REMOVED, 9)]
    assert report.findings[0].last == 10
    assert kinds(check(DROP, [], head_of(rows))) == [(Kind.REMOVED, 1)]


def test_inserted_rows_are_found_with_a_bad_link_without_one_and_after_the_head() -> None:
    rows = linked(10)
    bogus = dataclasses.replace(attempt(50), chain=ChainLink(4, "1" * 40, "2" * 40))
    assert kinds(check(DROP, [*rows, bogus])) == [(Kind.INSERTED, 4)]
    unlinked = attempt(51)  # a below_minimum decision no script chained
    assert kinds(check(DROP, [*rows, unlinked])) == [(Kind.INSERTED, None)]
    # A well-made link after the head: invisible in the rows, found against the anchor.
    assert rows[-1].chain is not None
    extra = dataclasses.replace(
        attempt(52), chain=seal(rows[-1].chain.hash, 11, attempt(52).attempt_values())
    )
    assert check(DROP, [*rows, extra]).ok
    assert kinds(check(DROP, [*rows, extra], head_of(rows))) == [(Kind.INSERTED, 11)]


def test_a_consistent_second_decision_at_a_position_is_a_fork() -> None:
    """What a failover leaves: the old primary's decision #6, relayed, then lost."""
    rows = linked(10)
    assert rows[4].chain is not None
    lost = dataclasses.replace(
        attempt(60), chain=seal(rows[4].chain.hash, 6, attempt(60).attempt_values())
    )
    report = check(DROP, [*rows, lost], head_of(rows))
    assert kinds(report) == [(Kind.FORKED, 6)]
    assert report.findings[0].event == lost


def test_an_anchor_that_names_another_hash_breaks_the_head() -> None:
    rows = linked(5)
    assert kinds(check(DROP, rows, Anchor(5, "f" * 40, "test"))) == [(Kind.REPLACED, 5)]


def test_a_first_link_not_chained_to_the_start_is_changed() -> None:
    e = attempt(1)
    odd = dataclasses.replace(e, chain=seal("3" * 40, 1, e.attempt_values()))
    assert kinds(check(DROP, [odd])) == [(Kind.CHANGED, 1)]


def test_several_breaks_are_listed_first_position_first() -> None:
    rows = linked(12)
    rows[9] = changed(rows[9], bidder="mallory")
    del rows[6]
    rows[2] = changed(rows[2], reason=Reason.CLOSED)
    report = check(DROP, rows)
    assert kinds(report) == [(Kind.CHANGED, 3), (Kind.REMOVED, 7), (Kind.CHANGED, 10)]


@given(
    st.integers(min_value=0, max_value=14),
    st.sampled_from(["amount", "bidder", "bid_id", "seq", "decided_ms", "reserve_met", "region"]),
)
def test_any_single_edit_of_any_field_is_found_at_its_row(index: int, name: str) -> None:
    rows = linked(15)
    value = getattr(rows[index], name, None)
    if value is None:
        value = getattr(rows[index].decision, name)
    new = (
        (not value)
        if isinstance(value, bool)
        else (value + 1 if isinstance(value, int) else value + "x")
    )
    rows[index] = changed(rows[index], **{name: new})
    assert kinds(check(DROP, rows)) == [(Kind.CHANGED, index + 1)]


def test_rows_of_other_drops_are_ignored() -> None:
    rows = linked(3)
    other = dataclasses.replace(attempt(9), drop="d2")
    assert check(DROP, [*rows, other]).rows == 3
