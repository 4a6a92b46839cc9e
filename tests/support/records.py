"""The decision record's test material: one outbox entry as place_bid.lua writes it, and the
field names of a record that nests a :class:`~gavel.auction.Decision` (and a chain link)."""

from __future__ import annotations

import dataclasses
from typing import Any

from gavel.auction import Decision
from gavel.events import CHAIN_FIELDS, BidEvent

STREAM_ENTRY_V1 = {
    b"event_id": b"e-1",
    b"drop": b"d",
    b"bidder": b"alice",
    b"bid_id": b"7",
    b"amount": b"1500",
    b"outcome": b"accepted",
    b"reason": b"accepted",
    b"seq": b"3",
    b"high_bid": b"1500",
    b"leader": b"alice",
    b"prev_leader": b"",
    b"min_next": b"1600",
    b"ends_at_ms": b"99",
    b"reserve_met": b"0",
    b"received_ms": b"10",
    b"decided_ms": b"11",
    b"region": b"us",
}
"""An entry as place_bid.lua wrote it before the chain: no link."""

PREV = "ab" * 20
LINK_HASH = "0123456789abcdef0123456789abcdef01234567"
"""Not this entry's real hash: parsing does not check links (gavel.audit.chain_check does)."""

STREAM_ENTRY = {
    **STREAM_ENTRY_V1,
    b"chain_n": b"4",
    b"chain_prev": PREV.encode(),
    b"chain_hash": LINK_HASH.encode(),
}

DECISION = tuple(f.name for f in dataclasses.fields(Decision))


def flat_names(record: type, nested: str = "decision") -> set[str]:
    """``record``'s field names with its nested decision's fields in place of ``nested``, and
    the chain link's flat names in place of ``chain``."""
    names = {f.name for f in dataclasses.fields(record)} - {nested}
    if "chain" in names:
        names = (names - {"chain"}) | set(CHAIN_FIELDS)
    return names | set(DECISION)


def changed(event: BidEvent, **changes: Any) -> BidEvent:
    """``event`` with ``changes`` to its own fields or its decision's, named flat as on the
    wire (tests use it to build variants, also ill-typed ones)."""
    inner = {k: v for k, v in changes.items() if k in DECISION}
    outer = {k: v for k, v in changes.items() if k not in DECISION}
    return dataclasses.replace(
        event, **outer, decision=dataclasses.replace(event.decision, **inner)
    )
