from __future__ import annotations

import io
from dataclasses import replace

from rich.console import Console, RenderableType

from gavel.console.render import drops_table, watch_view
from gavel.console.snapshot import DropInfo, ListRow, Observed, Reading, Readings, Scrape, frame
from gavel.observer_hash import RegionObservers
from gavel.state_hash import Counts

INFO = DropInfo("d1", "default", "us", ("us", "eu"), "A watch", None, None)
READING = Reading(
    now_ms=1_500_000,
    currency="EUR",
    reserve=50_000,
    opens_at_ms=1_000_000,
    ends_at_ms=1_590_000,
    high_bid=62_000,
    leader_alias="bidder-1a2b3c4d",
    counts=Counts(attempts=40, bids=12, refused={"below_minimum": 25, "rate_limited": 3}),
    backlog=7,
    oldest_backlog_ms=1_498_000,
)


def text(renderable: RenderableType, width: int = 120) -> str:
    console = Console(record=True, width=width, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_a_watch_frame_shows_every_figure_a_merch_team_watches() -> None:
    previous = Readings(INFO, replace(READING, now_ms=1_499_000, counts=Counts(30, 10)))
    current = Readings(
        INFO,
        READING,
        observers={
            "us": Observed(RegionObservers(current=1_234, peak=5_678, processes=2)),
            "eu": Observed(error="Redis unreachable (ConnectionError)"),
        },
        audit_lag={"us": Scrape(5)},
    )
    out = text(watch_view(frame(current, previous)))
    for expected in (
        "d1",
        "A watch",
        "Live",
        "(no operator: from Redis)",
        "ends in 01:30",
        "EUR 620.00",
        "bidder-1a2b3c4d",
        "met (EUR 500.00)",
        "12 accepted of 40 attempts",
        "2.0  (attempts/s 10.0)",
        "below_minimum",
        "25",
        "rate_limited",
        "1,234",
        "5,678",
        "Redis unreachable (ConnectionError)",
        "7 entries, oldest 00:02",
        "5 records",
        "read 00:25:00 UTC",
    ):
        assert expected in out, (expected, out)
    # Reasons by count, most first.
    assert out.index("below_minimum") < out.index("rate_limited")


def test_a_frame_without_redis_or_metrics_says_what_is_missing() -> None:
    out = text(watch_view(frame(Readings(INFO, None, redis_error="Redis unreachable"), None)))
    assert "unknown" in out
    assert "Redis unreachable" in out
    assert out.count("not given") == 1  # the audit lag (no writer was named)


def test_a_failing_hub_is_shown_above_the_last_known_drop() -> None:
    readings = Readings(INFO, READING, hub_error="cannot reach the hub at https://x")
    assert "cannot reach the hub at https://x" in text(watch_view(frame(readings, None)))


def test_the_drops_table_lists_one_row_per_drop() -> None:
    rows = [
        ListRow("d1", "default", "Live (redis)", "s1", "e1", "us", "EUR 1.00", "?/2"),
        ListRow("d2", "merch", "Closed", "s2", "e2", "eu", "not opened", "2/2"),
    ]
    out = text(drops_table(rows), width=160)
    assert "Live (redis)" in out
    assert "not opened" in out
    assert "2/2" in out
    assert out.index("d1") < out.index("d2")
