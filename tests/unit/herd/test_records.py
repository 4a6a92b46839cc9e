"""What clients saw: observer views folded message by message, answers read from the gateway."""

from __future__ import annotations

from gavel.herd.records import Anomaly, Answer, Channel, RegionSightings


def test_a_region_parses_each_distinct_message_once() -> None:
    sightings = RegionSightings("us")
    raw = b'{"type":"price","seq":1}'
    first = sightings.decode(raw)
    assert sightings.decode(bytes(raw)) is first
    assert first == {"type": "price", "seq": 1}


def test_a_view_follows_prices_and_resyncs_and_notes_what_went_wrong() -> None:
    s = RegionSightings("eu")
    view = s.observer("o")
    for msg in (
        {"type": "snapshot", "resync": False, "seq": 0, "high_bid": None},
        {"type": "price", "seq": 1, "high_bid": 100, "decided_ms": 0},
        {"type": "snapshot", "resync": True, "seq": 5, "high_bid": 900},
        {"type": "price", "seq": 7, "high_bid": 800, "decided_ms": 0},
        {"type": "pong?"},
    ):
        view.take(msg, 10.0, s)
    assert (view.seq, view.high_bid, view.resyncs, view.messages) == (7, 800, 1, 5)
    assert [a for a, _ in view.anomalies] == [Anomaly.GAP, Anomaly.PRICE_DOWN]
    assert s.prices == {1: 100, 5: 900, 7: 800}
    assert s.latency.summary().count == 2


def test_an_answer_reads_a_problem_with_the_bids_figures_and_a_refusal_without() -> None:
    limited = Answer.from_body(
        {
            "code": "rate_limited",
            "event_id": "e1",
            "outcome": "rejected",
            "reason": "rate_limited",
            "seq": 3,
        },
        region="us",
        channel=Channel.REST,
        bidder="b",
        bid_id="b-1",
        amount=500,
        status=429,
        sent_ms=0.0,
        ack_ms=1.0,
    )
    assert (limited.event_id, limited.reason, limited.seq, limited.accepted) == (
        "e1",
        "rate_limited",
        3,
        False,
    )
    refused = Answer.from_body(
        {"code": "invalid_token"},
        region="us",
        channel=Channel.REST,
        bidder="b",
        bid_id="b-2",
        amount=500,
        status=401,
        sent_ms=0.0,
        ack_ms=1.0,
    )
    assert (refused.event_id, refused.reason, refused.outcome) == (None, "invalid_token", None)


def test_a_resync_counts_the_prices_it_jumped_over_and_how_old_its_price_was() -> None:
    s = RegionSightings("us")
    view = s.observer("o")
    view.take({"type": "snapshot", "resync": False, "seq": 0, "high_bid": None}, 0.0, s)
    view.take({"type": "price", "seq": 1, "high_bid": 100, "decided_ms": 900}, 1_000.0, s)
    view.take(
        {"type": "snapshot", "resync": True, "seq": 6, "high_bid": 600, "decided_ms": 1_500},
        2_000.0,
        s,
    )
    # A resync with nothing newer (a reconnect on the latest seq) skips nothing.
    view.take({"type": "snapshot", "resync": True, "seq": 6, "high_bid": 600}, 2_100.0, s)
    assert (view.skipped, view.resyncs, view.anomalies) == (4, 2, [])
    assert (s.latency.summary().max_ms, s.resync_age.summary().max_ms) == (100.0, 500.0)
    assert s.staleness().summary().count == 2
    assert s.stalest_ms == 500.0
