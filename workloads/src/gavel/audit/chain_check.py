"""Checking a drop's audit hash chain from its audit rows. Pure.

Called by :mod:`gavel.audit.verify` (``gavel audit verify DROP``) with every row of one drop;
the links were made by ``lua/place_bid.lua`` (:mod:`gavel.chain` spells the hash). The check
recomputes every link from the row's own values and follows the chain back from its head, so
it can say which row is wrong and how:

* **changed** — a row's values (or its link's position or predecessor) no longer hash to the
  hash it carries: someone edited it in place;
* **replaced** — a row hashes to what it carries, but the next link was chained to another
  hash: the row was rewritten *and* its hash recomputed (an unkeyed hash allows that; the next
  link still remembers the original);
* **removed** — no row holds a position the chain passes through (or, with an anchor, a
  position up to the head the drop's Redis holds);
* **inserted** — a row with a link that is not part of the chain, a row placed after the
  anchored head, or a decision of the script without any link (an insert that left the link
  columns empty, or a decision recorded before the chain existed: unverifiable either way);
* **forked** — a row that hashes correctly and is chained to a real predecessor, but the chain
  does not go on from it: a decision an old Redis primary made and the relay forwarded before
  a failover lost it (docs/decisions.md 35), or a forgery that copies that shape.

Edge decisions (``unavailable``, ``unknown_drop``) are made by a gateway without the drop's
script and belong to no chain; they are counted, not checked.

Without an anchor, the last rows of a chain can be cut off, or rows forged after them, without
a trace in the rows: :class:`Anchor` (the head ``(n, hash)`` from the drop's state in Redis, or
from a bidder's receipt) closes that gap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from gavel.auction import Reason
from gavel.chain import GENESIS, link_hash
from gavel.events import BidEvent

EDGE_REASONS = frozenset({Reason.UNAVAILABLE, Reason.UNKNOWN_DROP})
"""Reasons only a gateway gives (place_bid.lua records neither): such rows have no link."""


class Kind(StrEnum):
    CHANGED = "changed"
    REPLACED = "replaced"
    REMOVED = "removed"
    INSERTED = "inserted"
    FORKED = "forked"


@dataclass(frozen=True, slots=True)
class Anchor:
    """The chain's head as a source outside Cassandra holds it."""

    n: int
    hash: str
    source: str = "anchor"


@dataclass(frozen=True, slots=True)
class Finding:
    """One break: what is wrong at which position, and the row concerned (None: no row)."""

    kind: Kind
    n: int | None
    """Chain position; for removed rows the first missing one (``last`` the last)."""
    event: BidEvent | None
    detail: str
    last: int | None = None


@dataclass(frozen=True, slots=True)
class Report:
    drop: str
    rows: int
    chained: int
    """Rows on the chain, from its first position to its head."""
    edge: int
    """Edge decisions: outside every chain by design."""
    first_n: int | None
    head: BidEvent | None
    """The row of the chain's last link."""
    anchor: Anchor | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def self_consistent(event: BidEvent) -> bool:
    """Does ``event``'s link hash to what it carries (recomputed from the row's values)?"""
    link = event.chain
    if link is None or not link.well_formed():
        return False
    return link_hash(link.prev, link.n, event.attempt_values()) == link.hash


def _order(event: BidEvent) -> tuple[int, int, str]:
    return (event.chain.n if event.chain else 0, event.decision.decided_ms, event.event_id)


class _Walk:
    """The rows of one drop by position, and the chain found by walking back from a head."""

    def __init__(self, linked: list[BidEvent]) -> None:
        self.at: dict[int, list[BidEvent]] = defaultdict(list)
        for e in sorted(linked, key=_order):
            assert e.chain is not None
            self.at[e.chain.n].append(e)
        self.ok = {id(e): self_consistent(e) for e in linked}
        self.main: list[BidEvent] = []
        self.findings: list[Finding] = []

    def best(self, candidates: list[BidEvent]) -> BidEvent:
        return next((e for e in candidates if self.ok[id(e)]), candidates[0])

    def tip(self, anchor: Anchor | None) -> BidEvent | None:
        if not self.at:
            if anchor is not None:
                self.removed(1, anchor.n, f"the {anchor.source} names head #{anchor.n}")
            return None
        top = max(self.at)
        if anchor is None:
            return self.best(self.at[top])
        for n in sorted(p for p in self.at if p > anchor.n):
            for e in self.at[n]:
                self.findings.append(
                    Finding(Kind.INSERTED, n, e, f"after the head #{anchor.n} ({anchor.source})")
                )
        if anchor.n in self.at:
            match = [e for e in self.at[anchor.n] if e.chain and e.chain.hash == anchor.hash]
            if match:
                return self.best(match)
            e = self.best(self.at[anchor.n])
            self.findings.append(
                Finding(Kind.REPLACED, anchor.n, e, f"the {anchor.source} holds {anchor.hash}")
            )
            return e
        below = [p for p in self.at if p < anchor.n]
        if not below:
            self.removed(1, anchor.n, f"the {anchor.source} names head #{anchor.n}")
            return None
        q = max(below)
        self.removed(q + 1, anchor.n, f"the {anchor.source} names head #{anchor.n}")
        return self.best(self.at[q])

    def removed(self, first: int, last: int, why: str) -> None:
        span = f"#{first}" if first == last else f"#{first}..#{last}"
        count = last - first + 1
        self.findings.append(
            Finding(Kind.REMOVED, first, None, f"{count} row(s) missing at {span}: {why}", last)
        )

    def back_from(self, cur: BidEvent) -> None:
        self.main.append(cur)
        while True:
            assert cur.chain is not None
            pos, prev = cur.chain.n - 1, cur.chain.prev
            if pos < 1:
                if prev != GENESIS:
                    self.findings.append(
                        Finding(
                            Kind.CHANGED,
                            cur.chain.n,
                            cur,
                            "the first link is not chained to the start",
                        )
                    )
                return
            candidates = self.at.get(pos, [])
            match = [e for e in candidates if e.chain and e.chain.hash == prev]
            if match:
                cur = self.best(match)
            elif candidates:
                cur = self.best(candidates)
                self.findings.append(
                    Finding(
                        Kind.REPLACED,
                        pos,
                        cur,
                        f"#{pos + 1} was chained to {prev[:12]}…, this row hashes to "
                        f"{cur.chain.hash[:12] if cur.chain else ''}…",
                    )
                )
            else:
                below = [p for p in self.at if p < pos]
                if not below:
                    self.removed(1, pos, f"#{pos + 1} is chained to {prev[:12]}…")
                    return
                q = max(below)
                self.removed(q + 1, pos, f"#{pos + 1} is chained to {prev[:12]}…")
                cur = self.best(self.at[q])
            self.main.append(cur)


def check(drop: str, events: Iterable[BidEvent], anchor: Anchor | None = None) -> Report:
    """Check the chain of ``drop`` from all its rows (in any order)."""
    rows = [e for e in events if e.drop == drop]
    linked = [e for e in rows if e.chain is not None]
    unlinked = [e for e in rows if e.chain is None]
    edge = [e for e in unlinked if e.decision.reason in EDGE_REASONS]
    walk = _Walk(linked)
    tip = walk.tip(anchor)
    if tip is not None:
        walk.back_from(tip)
    on_main = {id(e) for e in walk.main}
    hashes_at: dict[int, set[str]] = defaultdict(set)
    for e in linked:
        assert e.chain is not None
        hashes_at[e.chain.n].add(e.chain.hash)
    findings = list(walk.findings)
    for e in walk.main:
        if not walk.ok[id(e)] and not any(f.event is e for f in findings):
            findings.append(
                Finding(
                    Kind.CHANGED,
                    e.chain.n if e.chain else None,
                    e,
                    "its values do not hash to its link",
                )
            )
    for e in linked:
        assert e.chain is not None
        if id(e) in on_main or any(f.event is e for f in findings):
            continue
        n = e.chain.n
        if walk.ok[id(e)] and (
            e.chain.prev in hashes_at.get(n - 1, set()) or (n == 1 and e.chain.prev == GENESIS)
        ):
            why = "a second decision at this position that the chain does not continue from"
            findings.append(Finding(Kind.FORKED, n, e, why))
        else:
            findings.append(Finding(Kind.INSERTED, n, e, "not part of the chain"))
    for e in unlinked:
        if e.decision.reason not in EDGE_REASONS:
            why = "a decision of the drop's script without a link"
            findings.append(Finding(Kind.INSERTED, None, e, why))
    findings.sort(key=_finding_order)
    positions = [e.chain.n for e in walk.main if e.chain]
    return Report(
        drop=drop,
        rows=len(rows),
        chained=len(walk.main),
        edge=len(edge),
        first_n=min(positions) if positions else None,
        head=tip,
        anchor=anchor,
        findings=findings,
    )


def _finding_order(f: Finding) -> tuple[int, int, int, str]:
    decided = f.event.decision.decided_ms if f.event else 0
    event_id = f.event.event_id if f.event else ""
    return (0 if f.n is not None else 1, f.n or 0, decided, event_id)
