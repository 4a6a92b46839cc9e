"""One audit row: a :class:`~gavel.events.BidEvent` as it is stored and read back. Pure.

A row holds the event itself (and so its :class:`~gavel.auction.Decision` and its chain link);
the columns are the event's flat fields (:data:`~gavel.events.BID_KEYS`) under the table's names.

Used by :mod:`gavel.audit.records` (event -> row, with the checks that keep a row Cassandra
would refuse out of the pipeline), :mod:`gavel.audit.store` (binding and reading rows) and the
readers (:mod:`gavel.audit.reading`, the HTTP API, ``gavel audit show``, ``gavel audit
verify``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gavel.auction import Decision, Outcome, Reason
from gavel.audit.schema import BUCKET_MS, COLUMN_NAMES
from gavel.chain import ChainLink
from gavel.events import DECISION_FIELDS, BidEvent

MAX_TEXT_BYTES = 1024
"""Longest text a row takes (UTF-8 bytes). Ids and reasons are short; a longer value is a
producer bug, dead-lettered rather than written (a huge partition key would be refused)."""

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


class InvalidAttemptError(ValueError):
    """An event whose fields do not fit the table (wrong type, out of range, too long)."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One row of ``bid_attempts``: a bid event, in the partition of its decided minute."""

    event: BidEvent
    bucket: int

    @property
    def partition(self) -> tuple[str, int]:
        """The row's partition key, ``(drop_id, bucket)``."""
        return self.event.drop, self.bucket

    def columns(self) -> dict[str, Any]:
        """The row by column, in :data:`~gavel.audit.schema.COLUMN_NAMES` order: the event's
        fields under their column names, outcome and reason as text."""
        flat = self.event.flat()
        link = self.event.chain
        values = {
            "chain_n": link.n if link else None,
            "chain_prev": link.prev if link else None,
            "chain_hash": link.hash if link else None,
            **flat,
            "drop_id": flat["drop"],
            "bucket": self.bucket,
            "outcome": str(flat["outcome"]),
            "reason": str(flat["reason"]),
            "schema_v": flat["v"],
        }
        return {name: values[name] for name in COLUMN_NAMES}

    def values(self) -> tuple[Any, ...]:
        """The values to bind, in column order."""
        return tuple(self.columns().values())

    @property
    def write_timestamp_us(self) -> int:
        """The cell timestamp of this row's write: the decided time, so writing the same event
        again writes byte-identical cells (a replay is a no-op, also for repair), and a row
        deleted on purpose is never brought back by a late replay."""
        return self.event.decision.decided_ms * 1000

    def to_json(self) -> dict[str, Any]:
        """The row as readers see it: the event's field names, without the bucket."""
        obj = self.columns()
        del obj["bucket"]
        return {"drop": obj.pop("drop_id"), **obj}


def estimated_size(attempt: Attempt) -> int:
    """Roughly the bytes of ``attempt``'s mutation (cells, names, overhead), to keep batches
    under Cassandra's batch-size warning threshold (5 KiB by default)."""
    e, d = attempt.event, attempt.event.decision
    texts = (e.event_id, e.bidder, e.bid_id, d.outcome, d.reason)
    more = (d.leader or "", d.prev_leader or "", e.region)
    link = (e.chain.prev + e.chain.hash) if e.chain else ""
    return 200 + sum(len(t) for t in (*texts, *more, link))


def bucket_of(decided_ms: int) -> int:
    """Start (ms since the epoch) of the :data:`BUCKET_MS` window ``decided_ms`` falls in."""
    return decided_ms - decided_ms % BUCKET_MS


def _text(name: str, value: object, *, required: bool = False) -> None:
    if not isinstance(value, str):
        raise InvalidAttemptError(f"{name}: expected a string, got {type(value).__name__}")
    if required and not value:
        raise InvalidAttemptError(f"{name}: must not be empty")
    if len(value.encode("utf-8", errors="surrogatepass")) > MAX_TEXT_BYTES:
        raise InvalidAttemptError(f"{name}: longer than {MAX_TEXT_BYTES} bytes")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise InvalidAttemptError(f"{name}: holds a lone surrogate, not valid UTF-8")


def _optional_text(name: str, value: object) -> None:
    if value is not None:
        _text(name, value)


def _bigint(name: str, value: object, *, low: int = BIGINT_MIN) -> None:
    if type(value) is not int:  # bool is an int subclass: refuse it too
        raise InvalidAttemptError(f"{name}: expected an integer, got {type(value).__name__}")
    if not low <= value <= BIGINT_MAX:
        raise InvalidAttemptError(f"{name}: {value} is out of range")


def _optional_bigint(name: str, value: object) -> None:
    if value is not None:
        _bigint(name, value)


def attempt_from_event(event: BidEvent) -> Attempt:
    """The row for ``event``; InvalidAttemptError if a field does not fit the table.

    ``BidEvent.from_json`` checks names and the schema version, not types, so a producer that
    wrote ``"amount": "12"`` is caught here, before Cassandra (or the driver) refuses it.
    """
    d = event.decision
    _text("drop", event.drop, required=True)
    _text("event_id", event.event_id, required=True)
    for name in ("bidder", "bid_id", "region"):
        _text(name, getattr(event, name))
    for name in ("outcome", "reason"):
        _text(name, getattr(d, name))
    for name in ("leader", "prev_leader"):
        _optional_text(name, getattr(d, name))
    _bigint("amount", event.amount)
    _bigint("seq", d.seq)
    for name in ("high_bid", "min_next", "ends_at_ms"):
        _optional_bigint(name, getattr(d, name))
    # Times are ms since the epoch; the decided time also becomes the write timestamp (us).
    _bigint("decided_ms", d.decided_ms, low=0)
    _bigint("received_ms", event.received_ms, low=0)
    if d.decided_ms > BIGINT_MAX // 1000:
        raise InvalidAttemptError(f"decided_ms: {d.decided_ms} is out of range")
    if type(d.reserve_met) is not bool:
        raise InvalidAttemptError("reserve_met: expected true or false")
    if event.chain is not None:
        # Kept even when malformed: `gavel audit verify` shows such a row as broken, which
        # says more than a dead letter would.
        _bigint("chain_n", event.chain.n)
        _text("chain_prev", event.chain.prev)
        _text("chain_hash", event.chain.hash)
    return Attempt(event, bucket_of(d.decided_ms))


def attempt_from_row(row: Any) -> Attempt:
    """An :class:`Attempt` from a driver row (a named tuple with the table's columns)."""
    c = {name: getattr(row, name) for name in COLUMN_NAMES}
    c["outcome"], c["reason"] = Outcome(c["outcome"]), Reason(c["reason"])
    event = BidEvent(
        event_id=c["event_id"],
        drop=c["drop_id"],
        bidder=c["bidder"],
        bid_id=c["bid_id"],
        amount=c["amount"],
        received_ms=c["received_ms"],
        region=c["region"],
        decision=Decision(**{name: c[name] for name in DECISION_FIELDS}),
        chain=_link(c["chain_n"], c["chain_prev"], c["chain_hash"]),
        v=c["schema_v"],
    )
    return Attempt(event, c["bucket"])


def _link(n: int | None, prev: str | None, hash_: str | None) -> ChainLink | None:
    # A row whose link columns were partly cleared keeps what is left ('' for the missing
    # text, 0 for a missing position): the verifier reports it as changed.
    if n is None and prev is None and hash_ is None:
        return None
    return ChainLink(n if n is not None else 0, prev or "", hash_ or "")
