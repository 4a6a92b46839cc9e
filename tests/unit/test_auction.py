from __future__ import annotations

from dataclasses import replace

import pytest

from gavel import auction
from gavel.auction import Decision, DropModel, IncrementStep, Outcome, Reason, Rules

RULES = Rules(
    drop_id="d",
    home_region="us",
    currency="EUR",
    start_price=1_000,
    reserve=5_000,
    increments=(IncrementStep(0, 100), IncrementStep(10_000, 1_000)),
    opens_at_ms=1_000,
    ends_at_ms=10_000,
)


def test_first_bid_needs_the_start_price_then_the_tier_increment() -> None:
    m = DropModel.opened(RULES)
    assert m.bid("a", "1", 999, 2_000).reason is Reason.BELOW_MINIMUM
    assert m.bid("a", "2", 1_000, 2_000).outcome is Outcome.ACCEPTED
    assert m.bid("b", "1", 1_099, 2_000).reason is Reason.BELOW_MINIMUM
    d = m.bid("b", "2", 10_000, 2_000)
    assert (d.outcome, d.min_next, d.prev_leader, d.seq) == (Outcome.ACCEPTED, 11_000, "a", 2)


@pytest.mark.parametrize(("now", "reason"), [(999, Reason.NOT_OPEN), (10_000, Reason.CLOSED)])
def test_window_is_half_open(now: int, reason: Reason) -> None:
    assert DropModel.opened(RULES).bid("a", "1", 1_000, now).reason is reason


def test_cancelled_beats_everything() -> None:
    m = DropModel.opened(replace(RULES, cancelled=True))
    assert m.bid("a", "1", 1_000, 2_000).reason is Reason.CANCELLED


@pytest.mark.parametrize("amount", [0, -5, auction.MAX_AMOUNT + 1])
def test_amounts_outside_range_are_invalid(amount: int) -> None:
    assert DropModel.opened(RULES).bid("a", "1", amount, 2_000).reason is Reason.INVALID_AMOUNT


def test_soft_close_extends_to_now_plus_extension_capped_by_hard_stop() -> None:
    rules = replace(RULES, soft_window_ms=3_000, soft_extension_ms=5_000, hard_stop_ms=13_000)
    m = DropModel.opened(rules)
    assert m.bid("a", "1", 1_000, 6_000).ends_at_ms == 10_000  # 4 s left: outside the window
    assert m.bid("b", "1", 1_100, 7_500).ends_at_ms == 12_500  # inside: now + 5 s
    assert m.bid("a", "2", 1_200, 12_000).ends_at_ms == 13_000  # capped by the hard stop
    assert m.bid("b", "2", 1_300, 13_000).reason is Reason.CLOSED


def test_repeat_returns_first_decision_and_changes_nothing() -> None:
    m = DropModel.opened(RULES)
    first = m.bid("a", "1", 1_000, 2_000)
    assert ("a", "1") in m.seen
    again = m.bid("a", "1", 50_000, 2_500)
    assert again == first
    assert first.decided_ms == 2_000  # the first decision's time, as place_bid.lua answers
    assert m.state.high_bid == 1_000


def test_an_edge_decision_rejects_without_any_figure() -> None:
    d = Decision.edge(Reason.UNAVAILABLE, 7)
    assert (d.outcome, d.reason, d.seq, d.decided_ms) == (
        Outcome.REJECTED,
        Reason.UNAVAILABLE,
        0,
        7,
    )
    assert (d.high_bid, d.leader, d.prev_leader, d.min_next, d.ends_at_ms) == (None,) * 5
    assert not d.reserve_met


def test_reserve_met_is_reported() -> None:
    m = DropModel.opened(RULES)
    assert not m.bid("a", "1", 4_999, 2_000).reserve_met
    assert m.bid("b", "1", 5_100, 2_000).reserve_met


def test_rules_errors_name_each_problem() -> None:
    bad = replace(
        RULES,
        start_price=0,
        increments=(IncrementStep(5, 0),),
        ends_at_ms=1_000,
        currency="euro",
        soft_window_ms=10,
    )
    errors = " | ".join(bad.errors())
    for words in (
        "startPrice",
        "start from 0",
        ">= 1",
        "endsAt must be after",
        "currency",
        "window and an extension",
    ):
        assert words in errors
    assert RULES.errors() == []


def test_unsorted_increments_are_refused() -> None:
    bad = replace(
        RULES, increments=(IncrementStep(0, 1), IncrementStep(500, 2), IncrementStep(100, 3))
    )
    assert any("sorted" in e for e in bad.errors())


def test_anything_may_change_before_the_drop_opens() -> None:
    new = replace(RULES, start_price=7, currency="USD", ends_at_ms=2_000)
    assert auction.rule_change_errors(RULES, new, now_ms=999) == []


def test_after_opening_only_later_ends_and_cancellation_are_allowed() -> None:
    now = 1_000
    ok = replace(RULES, ends_at_ms=20_000, cancelled=True)
    assert auction.rule_change_errors(RULES, ok, now) == []
    errors = auction.rule_change_errors(
        RULES, replace(RULES, start_price=1, ends_at_ms=9_000, hard_stop_ms=30_000), now
    )
    assert errors == [
        "start_price cannot change after the drop opened",
        "ends_at_ms may only move later after the drop opened",
        "a hard stop cannot be added after the drop opened",
    ]
    cancelled = replace(RULES, cancelled=True)
    assert auction.rule_change_errors(cancelled, RULES, now) == [
        "a cancelled drop cannot be reopened"
    ]


def test_status_at_follows_the_live_end_and_a_cancellation() -> None:
    opens, ends = RULES.opens_at_ms, RULES.ends_at_ms
    assert auction.status_at(RULES, ends, opens - 1) == "scheduled"
    assert auction.status_at(RULES, ends, opens) == "live"
    assert auction.status_at(RULES, ends, ends) == "closed"
    assert auction.status_at(RULES, ends + 60_000, ends) == "live"  # soft close moved the end
    assert auction.status_at(replace(RULES, cancelled=True), ends, opens) == "cancelled"
