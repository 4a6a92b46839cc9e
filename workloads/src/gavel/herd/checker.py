"""The herd's verdict: what clients saw against what the stores hold at the end. Pure.

Jepsen-style: the load clients record every answer and fold every observer's messages
(:mod:`gavel.herd.records`); after the drop, :mod:`gavel.herd.run` reads the drop's audit trail
and its final state, and :func:`check` says whether they all agree. Each violation carries the
offending records, so a failed run says exactly what was lost, doubled or wrong:

* every answer of ``accepted`` is in the accepted history (the audit trail's accepted rows)
  with the seq and amount the bidder was told;
* the accepted history has seqs 1..N without a gap or a repeat, and amounts that strictly
  increase with seq; the drop's final state is its last entry (the winner is the highest bid);
* every answered attempt (accepted, refused, decided at the edge) is in the audit trail exactly
  once, with the outcome and reason the bidder was told;
* every observer ends on the final seq and price, saw no gap but through a resync snapshot,
  never saw the price go down, and saw only prices that were accepted.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gavel.auction import Outcome
from gavel.events import BidEvent, leader_alias
from gavel.herd.latency import Histogram, Summary
from gavel.herd.records import Anomaly, Answer, RegionSightings

MAX_RECORDS = 20
"""Offending records kept per violation kind: enough to debug, bounded for a broken run."""


class Kind(StrEnum):
    LOST_ACK = "lost_ack"
    """An accepted answer that is not in the accepted history (or differs from it)."""
    SEQ_GAP = "seq_gap"
    """A seq missing from the accepted history, or one taken twice."""
    NOT_INCREASING = "not_increasing"
    """An accepted amount not above the one before it."""
    WRONG_WINNER = "wrong_winner"
    """The drop's final state is not the highest accepted bid."""
    MISSING_AUDIT = "missing_audit"
    """An answered attempt with no audit row."""
    DUPLICATE_AUDIT = "duplicate_audit"
    """An attempt with more than one audit row."""
    WRONG_OUTCOME = "wrong_outcome"
    """An audit row (or another answer) that says otherwise than the bidder was told."""
    OBSERVER_BEHIND = "observer_behind"
    """An observer that did not end on the final seq and price."""
    OBSERVER_GAP = "observer_gap"
    """An observer that missed a seq without a resync snapshot, or went back."""
    PRICE_DOWN = "price_down"
    """An observer that saw the price go down."""
    PHANTOM_PRICE = "phantom_price"
    """An observer that saw a price the accepted history does not have."""


@dataclass(frozen=True, slots=True)
class FinalState:
    """The drop as its home region holds it at the end (the gateway's public view)."""

    seq: int
    high_bid: int | None
    leader_alias: str | None


@dataclass(slots=True)
class Violation:
    kind: Kind
    count: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)

    def add(self, record: dict[str, Any]) -> None:
        self.count += 1
        if len(self.records) < MAX_RECORDS:
            self.records.append(record)


@dataclass(frozen=True, slots=True)
class Verdict:
    violations: list[Violation]
    accepted: int
    attempts_answered: int
    audit_rows: int
    observers: int
    ack: Summary
    observer_latency: dict[str, Summary]

    @property
    def ok(self) -> bool:
        return not self.violations

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "accepted": self.accepted,
            "attempts_answered": self.attempts_answered,
            "audit_rows": self.audit_rows,
            "observers": self.observers,
            "ack_ms": self.ack.as_dict(),
            "decision_to_observer_ms": {r: s.as_dict() for r, s in self.observer_latency.items()},
            "violations": [
                {"kind": v.kind.value, "count": v.count, "records": v.records}
                for v in self.violations
            ],
        }


def _row(event: BidEvent) -> dict[str, Any]:
    return event.flat()


class _Found:
    def __init__(self) -> None:
        self.by_kind: dict[Kind, Violation] = {}

    def __call__(self, kind: Kind, record: dict[str, Any]) -> None:
        self.by_kind.setdefault(kind, Violation(kind)).add(record)

    def list(self) -> list[Violation]:
        return [self.by_kind[k] for k in Kind if k in self.by_kind]


def accepted_history(audit: Iterable[BidEvent]) -> list[BidEvent]:
    """The audit trail's accepted rows (one per event id), by seq."""
    unique = {e.event_id: e for e in audit if e.decision.outcome is Outcome.ACCEPTED}
    return sorted(unique.values(), key=lambda e: e.decision.seq)


def _check_history(history: Sequence[BidEvent], found: _Found) -> None:
    by_seq: dict[int, list[BidEvent]] = defaultdict(list)
    for e in history:
        by_seq[e.decision.seq].append(e)
    top = max(by_seq, default=0)
    for seq in range(1, top + 1):
        if seq not in by_seq:
            found(Kind.SEQ_GAP, {"missing_seq": seq})
        elif len(by_seq[seq]) > 1:
            found(Kind.SEQ_GAP, {"seq_taken_twice": seq, "rows": [_row(e) for e in by_seq[seq]]})
    for before, after in itertools.pairwise(history):
        if after.amount <= before.amount:
            found(Kind.NOT_INCREASING, {"before": _row(before), "after": _row(after)})


def _check_final(history: Sequence[BidEvent], final: FinalState, found: _Found) -> None:
    last = history[-1] if history else None
    want = (
        (last.decision.seq, last.amount, leader_alias(last.drop, last.bidder))
        if last
        else (0, None, None)
    )
    if (final.seq, final.high_bid, final.leader_alias) != want:
        found(
            Kind.WRONG_WINNER,
            {
                "final": {
                    "seq": final.seq,
                    "high_bid": final.high_bid,
                    "leader_alias": final.leader_alias,
                },
                "highest_accepted": _row(last) if last else None,
            },
        )


def _check_answers(
    answers: Sequence[Answer],
    audit: Sequence[BidEvent],
    history: Sequence[BidEvent],
    found: _Found,
) -> None:
    rows: dict[str, list[BidEvent]] = defaultdict(list)
    for e in audit:
        rows[e.event_id].append(e)
    for event_id, same in rows.items():
        if len(same) > 1:
            found(Kind.DUPLICATE_AUDIT, {"event_id": event_id, "rows": [_row(e) for e in same]})
    accepted = {e.event_id: e for e in history}
    told: dict[str, Answer] = {}
    for a in answers:
        if a.event_id is None:
            continue
        first = told.setdefault(a.event_id, a)
        if (first.outcome, first.reason, first.seq) != (a.outcome, a.reason, a.seq):
            found(Kind.WRONG_OUTCOME, {"answer": a.brief(), "earlier_answer": first.brief()})
        if a.accepted:
            row = accepted.get(a.event_id)
            if row is None or (row.decision.seq, row.amount) != (a.seq, a.amount):
                found(Kind.LOST_ACK, {"answer": a.brief(), "row": _row(row) if row else None})
    for event_id, a in told.items():
        stored = rows.get(event_id)
        if not stored:
            found(Kind.MISSING_AUDIT, {"answer": a.brief()})
            continue
        d = stored[0].decision
        if (d.outcome.value, d.reason.value) != (a.outcome, a.reason) or (
            a.accepted and d.seq != a.seq
        ):
            found(Kind.WRONG_OUTCOME, {"answer": a.brief(), "row": _row(stored[0])})


_ANOMALY_KIND = {
    Anomaly.GAP: Kind.OBSERVER_GAP,
    Anomaly.WENT_BACK: Kind.OBSERVER_GAP,
    Anomaly.PRICE_DOWN: Kind.PRICE_DOWN,
    Anomaly.PHANTOM: Kind.PHANTOM_PRICE,
}


def _check_observers(
    sightings: Mapping[str, RegionSightings],
    history: Sequence[BidEvent],
    final: FinalState,
    found: _Found,
) -> None:
    amounts = {e.decision.seq: e.amount for e in history}
    for region, s in sightings.items():
        for view in s.views:
            for anomaly, record in view.anomalies:
                found(_ANOMALY_KIND[anomaly], {"region": region, "observer": view.name, **record})
            if (view.seq, view.high_bid) != (final.seq, final.high_bid):
                found(
                    Kind.OBSERVER_BEHIND,
                    {
                        "region": region,
                        "observer": view.name,
                        "seq": view.seq,
                        "high_bid": view.high_bid,
                        "final_seq": final.seq,
                        "final_high_bid": final.high_bid,
                        "connects": view.connects,
                    },
                )
        for record in s.conflicts:
            found(Kind.PHANTOM_PRICE, {"region": region, **record})
        for seq, price in sorted(s.prices.items()):
            if amounts.get(seq, -1) != price:
                found(
                    Kind.PHANTOM_PRICE,
                    {"region": region, "seq": seq, "seen": price, "accepted": amounts.get(seq)},
                )


def check(
    *,
    answers: Sequence[Answer],
    audit: Sequence[BidEvent],
    final: FinalState,
    sightings: Mapping[str, RegionSightings],
) -> Verdict:
    """Judge one drop: ``answers`` from its bidders, its ``audit`` trail as read back, its
    ``final`` state and every region's observers."""
    found = _Found()
    history = accepted_history(audit)
    _check_history(history, found)
    _check_final(history, final, found)
    _check_answers(answers, audit, history, found)
    _check_observers(sightings, history, final, found)
    ack = Histogram()
    for a in answers:
        ack.add(a.ack_ms)
    return Verdict(
        violations=found.list(),
        accepted=len(history),
        attempts_answered=len({a.event_id for a in answers if a.event_id}),
        audit_rows=len(audit),
        observers=sum(len(s.views) for s in sightings.values()),
        ack=ack.summary(),
        observer_latency={r: s.latency.summary() for r, s in sightings.items()},
    )


def kinds(verdict: Verdict) -> Counter[Kind]:
    """How many violations of each kind (for summaries and tests)."""
    return Counter({v.kind: v.count for v in verdict.violations})
