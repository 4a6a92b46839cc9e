from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

from rich.console import Console

from gavel.auction import Decision, Outcome, Reason
from gavel.console.results import as_csv, as_json, as_table, disagreements, tally, unread
from gavel.console.snapshot import Observed, Reading
from gavel.events import BidEvent, leader_alias
from gavel.observer_hash import RegionObservers
from gavel.state_hash import Counts

DROP = "d1"


def attempt(  # noqa: PLR0917 - a row of the table below
    n: int, bidder: str, amount: int, reason: Reason, seq: int, region: str
) -> BidEvent:
    accepted = reason is Reason.ACCEPTED
    return BidEvent(
        event_id=f"e-{n}",
        drop=DROP,
        bidder=bidder,
        bid_id=f"b-{n}",
        amount=amount,
        received_ms=1_000 + n,
        region=region,
        decision=Decision(
            outcome=Outcome.ACCEPTED if accepted else Outcome.REJECTED,
            reason=reason,
            seq=seq,
            high_bid=amount if accepted else None,
            leader=bidder if accepted else None,
            prev_leader=None,
            min_next=amount + 100,
            ends_at_ms=10_000,
            reserve_met=False,
            decided_ms=1_000 + n,
        ),
    )


TRAIL = [
    attempt(1, "alice", 1_000, Reason.ACCEPTED, 1, "us"),
    attempt(2, "bob", 1_000, Reason.BELOW_MINIMUM, 1, "eu"),
    attempt(3, "bob", 60_000, Reason.ACCEPTED, 2, "eu"),
    attempt(4, "carol", 10, Reason.UNAVAILABLE, 0, "eu"),  # decided at the edge
    attempt(5, "alice", 1_100, Reason.BELOW_MINIMUM, 2, "us"),
]
FINAL = Reading(
    now_ms=20_000,
    currency="EUR",
    reserve=50_000,
    opens_at_ms=0,
    ends_at_ms=10_000,
    high_bid=60_000,
    leader_alias=leader_alias(DROP, "bob"),
    counts=Counts(attempts=4, bids=2, refused={"below_minimum": 2}),
)


def test_the_trail_tells_winner_price_reserve_and_counts() -> None:
    r = tally(DROP, TRAIL, FINAL)
    assert (r.winner, r.winner_alias, r.final_price) == ("bob", leader_alias(DROP, "bob"), 60_000)
    assert r.final
    assert r.reserve_met
    assert (r.bids, r.attempts) == (2, 5)
    assert r.by_reason == {"accepted": 2, "below_minimum": 2, "unavailable": 1}
    assert [(g.region, g.bidders, g.attempts) for g in r.regions] == [("eu", 2, 3), ("us", 1, 2)]


def test_a_trail_that_matches_redis_has_no_disagreement() -> None:
    assert disagreements(tally(DROP, TRAIL, FINAL), FINAL) == []


def test_every_difference_from_redis_is_named() -> None:
    short = tally(DROP, TRAIL[:2], FINAL)  # the last accepted bid never reached the trail
    problems = disagreements(short, replace(FINAL, backlog=3))
    assert problems[0].startswith("3 attempts are still in the outbox")
    joined = "\n".join(problems)
    assert "final price: trail 1000, Redis 60000" in joined
    assert "accepted bids: trail 1, Redis 2" in joined
    assert "attempts decided in Redis: trail 2, Redis 4" in joined
    assert "refused as below_minimum: trail 1, Redis 2" in joined
    assert "winner: trail" in joined


def test_drops_without_refusal_counters_are_checked_on_totals_only() -> None:
    old = replace(FINAL, counts=Counts(attempts=4, bids=2))
    assert disagreements(tally(DROP, TRAIL, old), old) == []


def test_no_bids_no_winner_and_a_live_drop_is_provisional() -> None:
    live = replace(FINAL, now_ms=5_000, high_bid=None, leader_alias=None, counts=Counts())
    r = tally(DROP, [], live)
    assert (r.winner, r.final_price, r.reserve_met, r.final) == (None, None, False, False)
    assert disagreements(r, live) == []


def test_csv_and_json_carry_the_same_figures() -> None:
    r = tally(DROP, TRAIL, FINAL)
    data = json.loads(as_json(r))
    assert data["winner"] == "bob"
    assert data["by_reason"]["below_minimum"] == 2
    rows = list(csv.DictReader(io.StringIO(as_csv(r))))
    got = {(row["section"], row["name"]): row["value"] for row in rows}
    assert got[("result", "final_price")] == "60000"
    assert got[("attempts_by_reason", "unavailable")] == "1"
    assert got[("region_bidders", "eu")] == "2"


OBSERVED = {
    "us": Observed(RegionObservers(current=0, peak=1_200, peak_ms=9_000_000)),
    "eu": Observed(RegionObservers(current=3, peak=800, peak_ms=9_500_000, processes=1)),
    "ap": Observed(RegionObservers(current=0, peak=40, peak_ms=8_000_000)),
}


def test_observers_at_peak_are_shown_per_region_beside_the_trails_figures() -> None:
    r = tally(DROP, TRAIL, FINAL, OBSERVED)
    by_region = {x.region: x for x in r.regions}
    assert (by_region["us"].bidders, by_region["us"].observers_at_peak) == (1, 1_200)
    assert by_region["eu"].observers_peak_ms == 9_500_000
    # A region whose crowd only watched (no attempt went through its gateway) is still listed.
    assert (by_region["ap"].attempts, by_region["ap"].observers_at_peak) == (0, 40)
    assert unread(r) == []
    data = json.loads(as_json(r))
    assert {x["region"]: x["observers_at_peak"] for x in data["regions"]} == {
        "ap": 40,
        "eu": 800,
        "us": 1_200,
    }
    rows = list(csv.DictReader(io.StringIO(as_csv(r))))
    got = {(row["section"], row["name"]): row["value"] for row in rows}
    assert got[("region_observers_at_peak", "us")] == "1200"
    out = Console(record=True, width=160, file=io.StringIO())
    out.print(as_table(r))
    line = next(x for x in out.export_text().splitlines() if x.startswith("│ us "))
    assert "1,200" in line
    assert "02:30:00" in line  # when the peak was (UTC, from the region's Redis clock)


def test_a_region_whose_observers_could_not_be_read_is_named() -> None:
    observed = {**OBSERVED, "eu": Observed(error="Redis unreachable (ConnectionError)")}
    r = tally(DROP, TRAIL, FINAL, observed)
    eu = next(x for x in r.regions if x.region == "eu")
    assert (eu.observers_at_peak, eu.attempts) == (None, 3)
    assert unread(r) == ["observers in eu: Redis unreachable (ConnectionError)"]
    rows = list(csv.DictReader(io.StringIO(as_csv(r))))
    assert ("region_observers_at_peak", "eu") not in {(x["section"], x["name"]) for x in rows}
