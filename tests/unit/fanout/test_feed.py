from __future__ import annotations

import json

from gavel.events import PriceEvent
from gavel.fanout.feed import Applied, Feed
from gavel_devstack.harness.fanout import price_event


def ev(seq: int, drop: str = "d") -> PriceEvent:
    return price_event(drop, seq, decided_ms=5)


def test_consecutive_events_become_prices() -> None:
    f = Feed("d")
    kinds = [f.apply(ev(n))[0] for n in (1, 2, 3)]
    assert kinds == [Applied.NEXT] * 3
    assert json.loads(f.apply(ev(4))[1])["type"] == "price"


def test_duplicates_and_older_events_are_ignored_and_never_move_the_price_back() -> None:
    f = Feed("d")
    f.apply(ev(1))
    f.apply(ev(2))
    assert f.apply(ev(2)) == (Applied.IGNORED, b"")
    assert f.apply(ev(1)) == (Applied.IGNORED, b"")
    assert f.latest is not None
    assert f.latest.decision.high_bid == 1002


def test_a_gap_is_delivered_as_a_resync_snapshot() -> None:
    f = Feed("d")
    f.apply(ev(1))
    applied, message = f.apply(ev(5))
    assert applied is Applied.GAP
    body = json.loads(message)
    assert (body["type"], body["resync"], body["seq"]) == ("snapshot", True, 5)
    assert f.missed_since(1) is None  # history restarted at 5: cannot fill 2..4
    assert [json.loads(m)["seq"] for m in f.missed_since(4) or []] == [5]
    assert f.apply(ev(6))[0] is Applied.NEXT


def test_missed_since_returns_exactly_what_was_missed() -> None:
    f = Feed("d", history_size=3)
    for n in range(1, 7):
        f.apply(ev(n))
    assert [json.loads(m)["seq"] for m in f.missed_since(3) or []] == [4, 5, 6]
    assert f.missed_since(6) == []
    assert f.missed_since(2) is None  # older than the history
    assert f.missed_since(9) is None  # from the future: resync


def test_snapshot_of_a_drop_without_bids() -> None:
    body = json.loads(Feed("d").snapshot(resync=False))
    assert body == {
        "type": "snapshot",
        "resync": False,
        "drop": "d",
        "seq": 0,
        "high_bid": None,
        "leader_alias": None,
        "min_next": None,
        "ends_at_ms": None,
        "reserve_met": False,
        "decided_ms": None,
    }


def test_the_last_ten_accepted_bids_are_kept_for_the_page_newest_last() -> None:
    f = Feed("d")
    for n in range(1, 13):
        f.apply(ev(n))
    f.apply(ev(12))  # a duplicate is not a bid
    assert [e.decision.seq for e in f.recent] == list(range(3, 13))
