"""Auction rules: the pure reference model of what ``lua/place_bid.lua`` decides.

The Lua script is what runs in production (atomically, in the drop's home-region Redis); this
module says the same thing in Python so that tests can generate bid sequences, replay them here
and demand that Redis' state and event stream match exactly. The gateway also uses it to
validate a Drop's rules before they reach Redis. No I/O.

Rules in brief (docs/auction-rules.md has the long form):

* amounts are integers in minor units (cents), 1 <= amount <= :data:`MAX_AMOUNT`;
* a drop is open in ``[opens_at_ms, ends_at_ms)`` on the Redis server clock, unless cancelled;
* the first accepted bid must be >= the start price; later ones >= high bid + the increment of
  the tier the high bid is in (an increment table, tiers by amount);
* bids below the reserve are accepted; the state says whether the reserve is met;
* soft close: a bid accepted with less than ``soft_window_ms`` left moves the end to at least
  ``now + soft_extension_ms``, never past ``hard_stop_ms``;
* a repeated ``(bidder, bid_id)`` returns the first outcome and changes nothing.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from enum import StrEnum

MAX_AMOUNT = 10**15
"""Largest amount accepted: ten trillion in major units, and exact in Lua's doubles (< 2**53)."""


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Reason(StrEnum):
    """Why an attempt ended as it did; stable codes shared by Lua, events, API and audit."""

    ACCEPTED = "accepted"
    BELOW_MINIMUM = "below_minimum"
    NOT_OPEN = "not_open"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    INVALID_AMOUNT = "invalid_amount"
    RATE_LIMITED = "rate_limited"
    UNKNOWN_DROP = "unknown_drop"
    UNAVAILABLE = "unavailable"
    """Decided at the edge: the home-region Redis could not be reached."""


@dataclass(frozen=True, slots=True)
class IncrementStep:
    """From ``from_amount`` (inclusive) upwards, bids rise by at least ``step``."""

    from_amount: int
    step: int


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Token bucket per bidder and drop: ``burst`` at once, then ``per_second`` sustained.

    Enforced by place_bid.lua before any rule (a limited attempt is audited, not remembered);
    the gateway's settings choose it."""

    burst: int = 10
    per_second: int = 5


@dataclass(frozen=True, slots=True)
class Rules:
    """Everything that decides a bid, as stored in the drop's ``rules`` hash."""

    drop_id: str
    home_region: str
    currency: str
    start_price: int
    reserve: int
    increments: tuple[IncrementStep, ...]
    opens_at_ms: int
    ends_at_ms: int
    hard_stop_ms: int = 0
    """0: no hard stop."""
    soft_window_ms: int = 0
    """0: no soft close."""
    soft_extension_ms: int = 0
    cancelled: bool = False

    def errors(self) -> list[str]:
        """What is wrong with these rules, in words a merch team can act on; empty if fine."""
        errs = []
        if self.start_price < 1 or self.start_price > MAX_AMOUNT:
            errs.append(f"startPrice must be between 1 and {MAX_AMOUNT}")
        if self.reserve < 0 or self.reserve > MAX_AMOUNT:
            errs.append(f"reservePrice must be between 0 and {MAX_AMOUNT}")
        if not self.increments:
            errs.append("increments must have at least one step")
        elif self.increments[0].from_amount != 0:
            errs.append("the first increment step must start from 0")
        froms = [s.from_amount for s in self.increments]
        if froms != sorted(set(froms)):
            errs.append("increment steps must be sorted by 'from' without repeats")
        if any(s.step < 1 or s.step > MAX_AMOUNT for s in self.increments):
            errs.append("every increment step must be >= 1")
        if self.ends_at_ms <= self.opens_at_ms:
            errs.append("endsAt must be after startsAt")
        if self.hard_stop_ms and self.hard_stop_ms < self.ends_at_ms:
            errs.append("hardStopAt must not be before endsAt")
        if self.soft_window_ms < 0 or self.soft_extension_ms < 0:
            errs.append("soft close window and extension must be >= 0")
        if bool(self.soft_window_ms) != bool(self.soft_extension_ms):
            errs.append("soft close needs both a window and an extension")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            errs.append("currency must be an ISO 4217 code such as EUR")
        return errs

    def increment_at(self, amount: int) -> int:
        """The minimum raise over a high bid of ``amount``."""
        froms = [s.from_amount for s in self.increments]
        return self.increments[bisect.bisect_right(froms, amount) - 1].step


FROZEN_ONCE_OPEN: tuple[str, ...] = (
    "home_region",
    "currency",
    "start_price",
    "reserve",
    "increments",
    "opens_at_ms",
    "soft_window_ms",
    "soft_extension_ms",
)
"""Rules no one may change after the drop opened: bidders decided under them."""


def rule_change_errors(old: Rules, new: Rules, now_ms: int) -> list[str]:
    """Why replacing ``old`` by ``new`` at ``now_ms`` would be unfair; empty if allowed.

    Before the drop opens anything may change. After it opened: the end and the hard stop may
    only move later (removing the hard stop counts as later), a drop may be cancelled but not
    un-cancelled, and every field of :data:`FROZEN_ONCE_OPEN` is frozen.
    """
    if now_ms < old.opens_at_ms:
        return []
    errs = [
        f"{name} cannot change after the drop opened"
        for name in FROZEN_ONCE_OPEN
        if getattr(old, name) != getattr(new, name)
    ]
    if new.ends_at_ms < old.ends_at_ms:
        errs.append("ends_at_ms may only move later after the drop opened")
    if old.hard_stop_ms and new.hard_stop_ms and new.hard_stop_ms < old.hard_stop_ms:
        errs.append("hard_stop_ms may only move later after the drop opened")
    if not old.hard_stop_ms and new.hard_stop_ms:
        errs.append("a hard stop cannot be added after the drop opened")
    if old.cancelled and not new.cancelled:
        errs.append("a cancelled drop cannot be reopened")
    return errs


@dataclass(frozen=True, slots=True)
class State:
    """The mutable part of a drop, as stored in its ``state`` hash."""

    ends_at_ms: int
    seq: int = 0
    high_bid: int | None = None
    leader: str | None = None
    bids: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one attempt and the drop's figures right after it: what
    ``lua/place_bid.lua`` decides, and this model with it.

    The one declaration of these fields. The script's answer (:class:`gavel.bidding.BidResult`),
    the bid event (:class:`gavel.events.BidEvent`), its price message and its audit row
    (:class:`gavel.audit.rows.Attempt`) each hold a Decision instead of repeating them.

    ``min_next`` and ``ends_at_ms`` are None only for an :meth:`edge` decision, made by the
    gateway without the drop's state; every decision of the script (accepted, rejected or rate
    limited) has both. ``high_bid`` and ``leader`` are None until a first bid is accepted.
    """

    outcome: Outcome
    reason: Reason
    seq: int
    """The drop's sequence number after the attempt (= this bid's number if accepted)."""
    high_bid: int | None
    leader: str | None
    prev_leader: str | None
    """The leader an accepted bid displaced; None for rejections."""
    min_next: int | None
    ends_at_ms: int | None
    reserve_met: bool
    decided_ms: int
    """Redis clock when it was decided (the gateway clock for edge decisions)."""

    @classmethod
    def edge(cls, reason: Reason, decided_ms: int) -> Decision:
        """A rejection by the gateway itself (unknown drop, home Redis unreachable): it knows
        none of the drop's figures."""
        return cls(
            outcome=Outcome.REJECTED,
            reason=reason,
            seq=0,
            high_bid=None,
            leader=None,
            prev_leader=None,
            min_next=None,
            ends_at_ms=None,
            reserve_met=False,
            decided_ms=decided_ms,
        )


def status_at(rules: Rules, ends_at_ms: int, now_ms: int) -> str:
    """What a drop is at ``now_ms`` given its live end (soft close moves it): ``cancelled``,
    ``scheduled``, ``live`` or ``closed`` (the gateway's drop view and the drop page)."""
    if rules.cancelled:
        return "cancelled"
    if now_ms < rules.opens_at_ms:
        return "scheduled"
    return "closed" if now_ms >= ends_at_ms else "live"


def min_next_bid(rules: Rules, state: State) -> int:
    """The smallest amount the next bid may have."""
    if state.high_bid is None:
        return rules.start_price
    return state.high_bid + rules.increment_at(state.high_bid)


def _decision(
    rules: Rules,
    state: State,
    outcome: Outcome,
    reason: Reason,
    prev_leader: str | None,
    *,
    now_ms: int,
) -> Decision:
    return Decision(
        outcome=outcome,
        reason=reason,
        seq=state.seq,
        high_bid=state.high_bid,
        leader=state.leader,
        prev_leader=prev_leader,
        min_next=min_next_bid(rules, state),
        ends_at_ms=state.ends_at_ms,
        reserve_met=state.high_bid is not None and state.high_bid >= rules.reserve,
        decided_ms=now_ms,
    )


def decide(
    rules: Rules, state: State, bidder: str, amount: int, now_ms: int
) -> tuple[Decision, State]:
    """Decide one new attempt at ``now_ms``; returns the decision and the state after it."""
    reason = _rejection(rules, state, amount, now_ms)
    if reason is not None:
        return _decision(rules, state, Outcome.REJECTED, reason, None, now_ms=now_ms), state
    ends = state.ends_at_ms
    if rules.soft_window_ms and ends - now_ms <= rules.soft_window_ms:
        ends = max(ends, now_ms + rules.soft_extension_ms)
        if rules.hard_stop_ms:
            ends = min(ends, rules.hard_stop_ms)
    prev = state.leader
    state = replace(
        state,
        seq=state.seq + 1,
        high_bid=amount,
        leader=bidder,
        bids=state.bids + 1,
        ends_at_ms=ends,
    )
    return _decision(rules, state, Outcome.ACCEPTED, Reason.ACCEPTED, prev, now_ms=now_ms), state


@dataclass(slots=True)
class DropModel:
    """One drop as the reference model sees it: rules, state and the idempotency record."""

    rules: Rules
    state: State
    seen: dict[tuple[str, str], Decision] = field(default_factory=dict)

    @classmethod
    def opened(cls, rules: Rules) -> DropModel:
        return cls(rules, State(ends_at_ms=rules.ends_at_ms))

    def bid(self, bidder: str, bid_id: str, amount: int, now_ms: int) -> Decision:
        """Decide an attempt; a repeated (bidder, bid_id) returns the first decision (a
        repeat is one whose key is in :attr:`seen` before the call)."""
        first = self.seen.get((bidder, bid_id))
        if first is not None:
            return first
        decision, self.state = decide(self.rules, self.state, bidder, amount, now_ms)
        self.seen[(bidder, bid_id)] = decision
        return decision


def _rejection(rules: Rules, state: State, amount: int, now_ms: int) -> Reason | None:
    if rules.cancelled:
        return Reason.CANCELLED
    if now_ms < rules.opens_at_ms:
        return Reason.NOT_OPEN
    if now_ms >= state.ends_at_ms:
        return Reason.CLOSED
    if not 1 <= amount <= MAX_AMOUNT:
        return Reason.INVALID_AMOUNT
    if amount < min_next_bid(rules, state):
        return Reason.BELOW_MINIMUM
    return None
