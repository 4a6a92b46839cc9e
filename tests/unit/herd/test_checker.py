"""The herd's checker catches each kind of violation, and passes a drop where all agree."""

from __future__ import annotations

import dataclasses
from typing import Any

from gavel.auction import Decision, Outcome, Reason
from gavel.events import BidEvent, leader_alias
from gavel.herd.checker import FinalState, Kind, Verdict, check, kinds
from gavel.herd.records import Answer, Channel, RegionSightings

DROP = "herd-unit"
T0 = 1_800_000_000_000


def event(
    seq: int, amount: int, *, bidder: str = "", reason: Reason = Reason.ACCEPTED, event_id: str = ""
) -> BidEvent:
    accepted = reason is Reason.ACCEPTED
    bidder = bidder or f"b{seq}"
    return BidEvent(
        event_id=event_id or f"e-{seq}-{reason}-{amount}",
        drop=DROP,
        bidder=bidder,
        bid_id=f"bid-{seq}-{amount}",
        amount=amount,
        received_ms=T0 + seq,
        region="us",
        decision=Decision(
            outcome=Outcome.ACCEPTED if accepted else Outcome.REJECTED,
            reason=reason,
            seq=seq,
            high_bid=amount if accepted else None,
            leader=bidder if accepted else None,
            prev_leader=None,
            min_next=amount + 100,
            ends_at_ms=T0 + 60_000,
            reserve_met=False,
            decided_ms=T0 + seq,
        ),
    )


def answer(e: BidEvent, **changes: Any) -> Answer:
    d = e.decision
    a = Answer(
        region="us",
        channel=Channel.REST,
        bidder=e.bidder,
        bid_id=e.bid_id,
        amount=e.amount,
        status=201 if d.outcome is Outcome.ACCEPTED else 409,
        event_id=e.event_id,
        outcome=d.outcome.value,
        reason=d.reason.value,
        seq=d.seq,
        duplicate=False,
        sent_ms=T0,
        ack_ms=2.5,
    )
    return dataclasses.replace(a, **changes)


def price(e: BidEvent) -> dict[str, Any]:
    d = e.decision
    return {
        "type": "price",
        "drop": DROP,
        "seq": d.seq,
        "high_bid": d.high_bid,
        "leader_alias": leader_alias(DROP, e.bidder),
        "decided_ms": d.decided_ms,
    }


def snapshot(seq: int, high: int | None, *, resync: bool = False) -> dict[str, Any]:
    return {"type": "snapshot", "resync": resync, "drop": DROP, "seq": seq, "high_bid": high}


ACCEPTED = [event(1, 1_000), event(2, 1_100), event(3, 1_500)]
REFUSED = event(3, 1_050, bidder="late", reason=Reason.BELOW_MINIMUM)
AUDIT = [*ACCEPTED, REFUSED]
FINAL = FinalState(3, 1_500, leader_alias(DROP, "b3"))


def watched(*messages: dict[str, Any], region: str = "eu") -> dict[str, RegionSightings]:
    sightings = RegionSightings(region)
    view = sightings.observer("o1")
    for i, m in enumerate(messages):
        view.take(m, T0 + 10 + i, sightings)
    return {region: sightings}


def verdict(**changes: Any) -> Verdict:
    args: dict[str, Any] = {
        "answers": [answer(e) for e in AUDIT],
        "audit": AUDIT,
        "final": FINAL,
        "sightings": watched(snapshot(0, None), *map(price, ACCEPTED)),
    }
    return check(**{**args, **changes})


def test_a_drop_where_everything_agrees_passes_with_its_latencies() -> None:
    v = verdict()
    assert v.ok, v.violations
    assert (v.accepted, v.attempts_answered, v.audit_rows, v.observers) == (3, 4, 4, 1)
    assert v.ack.count == 4
    assert v.ack.p99_ms == 2.5
    assert v.observer_latency["eu"].count == 3


def test_a_retry_answered_as_a_duplicate_is_one_attempt() -> None:
    retry = answer(ACCEPTED[0], duplicate=True, channel=Channel.WEBSOCKET, status=0)
    v = verdict(answers=[*(answer(e) for e in AUDIT), retry])
    assert v.ok, v.violations
    assert v.attempts_answered == 4


def test_a_lost_ack_is_caught() -> None:
    lost = event(4, 2_000)
    v = verdict(answers=[*(answer(e) for e in AUDIT), answer(lost)])
    assert kinds(v)[Kind.LOST_ACK] == 1
    assert kinds(v)[Kind.MISSING_AUDIT] == 1
    record = next(x for x in v.violations if x.kind is Kind.LOST_ACK).records[0]
    assert record["answer"]["event_id"] == lost.event_id


def test_an_ack_with_another_seq_than_the_history_is_caught() -> None:
    v = verdict(answers=[answer(ACCEPTED[0], seq=2), *(answer(e) for e in AUDIT[1:])])
    assert kinds(v)[Kind.LOST_ACK] == 1


def test_a_duplicate_audit_row_is_caught() -> None:
    v = verdict(audit=[*AUDIT, REFUSED])
    assert kinds(v) == {Kind.DUPLICATE_AUDIT: 1}
    assert len(v.violations[0].records[0]["rows"]) == 2


def test_a_missing_audit_row_of_a_refusal_is_caught() -> None:
    v = verdict(audit=ACCEPTED)
    assert kinds(v) == {Kind.MISSING_AUDIT: 1}


def test_an_audit_row_with_another_outcome_than_the_bidder_was_told_is_caught() -> None:
    told = answer(REFUSED, reason="rate_limited", status=429)
    v = verdict(answers=[*(answer(e) for e in ACCEPTED), told])
    assert kinds(v) == {Kind.WRONG_OUTCOME: 1}


def test_a_gap_in_the_accepted_history_is_caught() -> None:
    audit = [ACCEPTED[0], ACCEPTED[2]]
    v = verdict(
        audit=audit,
        answers=[answer(e) for e in audit],
        sightings=watched(snapshot(0, None), price(ACCEPTED[0]), snapshot(3, 1_500, resync=True)),
    )
    assert kinds(v) == {Kind.SEQ_GAP: 1}
    assert v.violations[0].records == [{"missing_seq": 2}]


def test_a_seq_taken_twice_is_caught() -> None:
    twin = event(2, 1_200, bidder="twin", event_id="e-twin")
    v = verdict(audit=[*AUDIT, twin])
    assert kinds(v)[Kind.SEQ_GAP] == 1


def test_accepted_amounts_that_do_not_rise_are_caught() -> None:
    lower = [event(1, 1_000), event(2, 900), event(3, 1_500)]
    v = verdict(
        audit=lower,
        answers=[answer(e) for e in lower],
        sightings=watched(snapshot(0, None), *map(price, lower)),
    )
    assert kinds(v)[Kind.NOT_INCREASING] == 1
    assert kinds(v)[Kind.PRICE_DOWN] == 1


def test_a_wrong_winner_is_caught() -> None:
    v = verdict(final=FinalState(3, 1_500, leader_alias(DROP, "someone-else")))
    assert Kind.WRONG_WINNER in kinds(v)


def test_an_observer_gap_without_resync_is_caught_and_a_resync_is_not_a_gap() -> None:
    gap = verdict(sightings=watched(snapshot(0, None), price(ACCEPTED[0]), price(ACCEPTED[2])))
    assert kinds(gap) == {Kind.OBSERVER_GAP: 1}
    resync = verdict(
        sightings=watched(snapshot(0, None), price(ACCEPTED[0]), snapshot(3, 1_500, resync=True))
    )
    assert resync.ok, resync.violations


def test_an_observer_that_went_back_is_caught() -> None:
    back = verdict(sightings=watched(snapshot(0, None), *map(price, ACCEPTED), snapshot(2, 1_100)))
    assert kinds(back)[Kind.OBSERVER_GAP] == 1


def test_an_observer_that_saw_the_price_go_down_is_caught() -> None:
    down = dict(price(ACCEPTED[2]), high_bid=900)
    v = verdict(
        sightings=watched(
            snapshot(0, None), *map(price, ACCEPTED[:2]), down, snapshot(3, 1_500, resync=True)
        )
    )
    assert kinds(v)[Kind.PRICE_DOWN] == 1
    assert kinds(v)[Kind.PHANTOM_PRICE] >= 1


def test_an_observer_that_did_not_end_on_the_final_price_is_caught() -> None:
    v = verdict(sightings=watched(snapshot(0, None), *map(price, ACCEPTED[:2])))
    assert kinds(v) == {Kind.OBSERVER_BEHIND: 1}
    assert v.violations[0].records[0]["seq"] == 2


def test_a_price_no_bid_was_accepted_at_is_caught() -> None:
    v = verdict(
        sightings=watched(
            snapshot(0, None), *map(price, ACCEPTED[:2]), snapshot(3, 1_400, resync=True)
        )
    )
    assert kinds(v) == {Kind.PHANTOM_PRICE: 1, Kind.OBSERVER_BEHIND: 1}


def test_the_verdict_as_json_names_each_violation_with_its_records() -> None:
    out = verdict(audit=[*AUDIT, REFUSED]).as_json()
    assert out["ok"] is False
    assert out["violations"][0]["kind"] == "duplicate_audit"
    assert out["violations"][0]["records"][0]["event_id"] == REFUSED.event_id
