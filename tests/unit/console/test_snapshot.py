from __future__ import annotations

from dataclasses import replace

import pytest

from gavel.console.snapshot import (
    DropInfo,
    Reading,
    Readings,
    countdown,
    duration,
    frame,
    list_row,
    metric_total,
    money,
    participating,
    per_second,
    phase_from_redis,
)
from gavel.resources.phase import Phase
from gavel.state_hash import Counts

OPENS, ENDS = 1_000_000, 2_000_000
LIVE = Reading(now_ms=1_500_000, currency="EUR", reserve=50_000, opens_at_ms=OPENS, ends_at_ms=ENDS)
DROP = {
    "metadata": {"name": "d1", "namespace": "merch"},
    "spec": {
        "homeRegion": "us",
        "regions": ["us", "eu"],
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "2026-01-02T00:00:00Z",
        "product": {"title": "A watch"},
    },
}


def test_drop_info_reads_spec_and_the_operators_status() -> None:
    info = DropInfo.of({**DROP, "status": {"phase": "Live", "regionsReady": "2/2"}})
    assert info == DropInfo("d1", "merch", "us", ("us", "eu"), "A watch", "Live", "2/2")
    assert DropInfo.of(DROP).phase is None


@pytest.mark.parametrize(
    ("now", "cancelled", "phase"),
    [
        (OPENS - 1, False, Phase.SCHEDULED),
        (OPENS, False, Phase.LIVE),
        (ENDS - 1, False, Phase.LIVE),
        (ENDS, False, Phase.CLOSED),
        (OPENS, True, Phase.CANCELLED),
    ],
)
def test_phase_from_redis_follows_the_window_on_the_redis_clock(
    now: int, cancelled: bool, phase: Phase
) -> None:
    assert phase_from_redis(replace(LIVE, now_ms=now, cancelled=cancelled)) is phase


def test_durations_and_countdowns() -> None:
    assert duration(65_999) == "01:05"
    assert duration(3_600_000) == "01:00:00"
    assert duration(2 * 86_400_000 + 3_723_000) == "2d 01:02:03"
    assert duration(-5) == "00:00"
    assert countdown(replace(LIVE, now_ms=OPENS - 90_000)) == "opens in 01:30"
    assert countdown(LIVE) == "ends in 08:20"
    assert countdown(replace(LIVE, now_ms=ENDS + 1_000)) == "ended 00:01 ago"
    assert countdown(replace(LIVE, cancelled=True)) == "cancelled"


def test_rates_come_from_two_readings_on_the_redis_clock() -> None:
    assert per_second(10, 30, 2_000) == 10.0
    assert per_second(10, 30, 0) is None
    assert per_second(30, 10, 1_000) is None  # a counter that went back: no rate, not negative
    before = Readings(DropInfo.of(DROP), replace(LIVE, counts=Counts(attempts=10, bids=4)))
    after = Readings(
        DropInfo.of(DROP),
        replace(LIVE, now_ms=LIVE.now_ms + 500, counts=Counts(attempts=20, bids=9)),
    )
    f = frame(after, before)
    assert (f.bids_per_s, f.attempts_per_s) == (10.0, 20.0)
    assert frame(after, None).bids_per_s is None


def test_the_phase_is_the_operators_when_it_reports_else_redis_else_unknown() -> None:
    with_status = Readings(DropInfo.of({**DROP, "status": {"phase": "PreScaling"}}), LIVE)
    assert (frame(with_status, None).phase, frame(with_status, None).phase_source) == (
        "PreScaling",
        "hub",
    )
    bare = Readings(DropInfo.of(DROP), LIVE)
    assert (frame(bare, None).phase, frame(bare, None).phase_source) == ("Live", "redis")
    unread = Readings(DropInfo.of(DROP), None, redis_error="Redis unreachable")
    assert (frame(unread, None).phase, frame(unread, None).countdown) == ("unknown", "")


def test_money_is_minor_units_in_the_drops_currency() -> None:
    assert money(2_500_000, "EUR") == "EUR 25,000.00"
    assert money(105, "USD") == "USD 1.05"
    assert money(2_500_000, "JPY") == "JPY 2,500,000"
    assert money(None, "EUR") == "no bids yet"


def test_metric_total_sums_every_sample_of_a_name() -> None:
    text = (
        "# TYPE gavel_audit_lag_records gauge\n"
        'gavel_audit_lag_records{partition="0"} 3.0\n'
        'gavel_audit_lag_records{partition="1"} 4.0\n'
        "# TYPE gavel_fanout_connections gauge\n"
        "gavel_fanout_connections 12.0\n"
    )
    assert metric_total(text, "gavel_audit_lag_records") == 7.0
    assert metric_total(text, "gavel_fanout_connections") == 12.0
    assert metric_total(text, "gavel_relay_backlog_entries") is None


def test_a_list_row_prefers_the_live_end_and_says_where_the_phase_came_from() -> None:
    reading = replace(LIVE, ends_at_ms=1_767_312_000_000, high_bid=120_000)
    row = list_row(DROP, reading, None)
    assert (row.phase, row.ends, row.high_bid, row.regions_ready) == (
        "Live (redis)",
        "2026-01-02 00:00:00Z",
        "EUR 1,200.00",
        "?/2",
    )
    missing = list_row({**DROP, "status": {"phase": "Scheduled"}}, None, None)
    assert (missing.phase, missing.ends, missing.high_bid) == (
        "Scheduled",
        "2026-01-02 00:00:00Z",
        "not opened",
    )
    assert list_row(DROP, None, "Redis unreachable").high_bid == "(Redis unreachable)"


def test_observers_are_read_in_the_drops_regions_else_every_region_and_always_home() -> None:
    listed = DropInfo("d", "default", "us", ("eu", "ap"))
    assert participating(listed, ("us", "eu", "ap", "sa")) == ("ap", "eu", "us")
    everywhere = DropInfo("d", "default", "us", ())
    assert participating(everywhere, ("us", "eu")) == ("eu", "us")
    assert participating(everywhere, ()) == ("us",)
