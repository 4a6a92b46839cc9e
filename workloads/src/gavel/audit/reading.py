"""Reading a drop's audit trail page by page, in decided-time order, with optional filters.

Used by the audit API (:mod:`gavel.audit.web`, served by the audit writer) and by
``gavel audit show`` (:mod:`gavel.audit.show`). The query parts (filters, page tokens) are pure;
:func:`read_page` walks the store.

Pages are keyset pages: a page token names the last row returned (bucket, decided time, event
id), and the next page starts strictly after it. Tokens therefore stay valid for as long as the
rows exist, need no server state, and never skip or repeat a row, whatever was written meanwhile
(a late row decided *before* the token's position is not shown by later pages; start again to
see it).

Filters (bidder, outcome) are applied here, while scanning the drop's partitions in order: an
audit read may scan a drop's whole trail to find one bidder's few attempts, which is fine for a
tool and keeps the table to one write per attempt.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol

from gavel.auction import Outcome
from gavel.audit.rows import Attempt

MAX_LIMIT = 1000
SCAN_BATCH = 500


class QueryError(ValueError):
    """A bad filter, limit or page token (the caller's mistake: HTTP 400, CLI exit 2)."""


@dataclass(frozen=True, slots=True)
class Filters:
    bidder: str | None = None
    outcome: Outcome | None = None

    def matches(self, attempt: Attempt) -> bool:
        if self.bidder is not None and attempt.event.bidder != self.bidder:
            return False
        return self.outcome is None or attempt.event.decision.outcome is self.outcome


def parse_outcome(text: str | None) -> Outcome | None:
    if text is None or text == "":
        return None
    try:
        return Outcome(text.lower())
    except ValueError:
        raise QueryError(f"outcome must be accepted or rejected, not {text!r}") from None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be 1..{MAX_LIMIT}, not {limit}")
    return limit


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended: the last row returned."""

    bucket: int
    decided_ms: int
    event_id: str

    def token(self) -> str:
        raw = json.dumps([self.bucket, self.decided_ms, self.event_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def from_token(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            bucket, decided_ms, event_id = json.loads(raw)
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
            raise QueryError("invalid page token") from exc
        if not (type(bucket) is int and type(decided_ms) is int and isinstance(event_id, str)):
            raise QueryError("invalid page token")
        return cls(bucket, decided_ms, event_id)

    @classmethod
    def after(cls, attempt: Attempt) -> Cursor:
        return cls(attempt.bucket, attempt.event.decision.decided_ms, attempt.event.event_id)


@dataclass(frozen=True, slots=True)
class Page:
    attempts: list[Attempt]
    next_token: str | None
    """Set when the page is full: pass it back for the rest (the next page may be empty)."""


class Rows(Protocol):
    """What :func:`read_page` needs of :class:`gavel.audit.store.AuditStore`."""

    def buckets(self, drop: str, first: int = 0) -> Awaitable[list[int]]: ...

    def rows(
        self, drop: str, bucket: int, after: tuple[int, str] | None, limit: int
    ) -> Awaitable[list[Attempt]]: ...


async def read_page(
    store: Rows,
    drop: str,
    *,
    filters: Filters = Filters(),
    cursor: Cursor | None = None,
    limit: int = 100,
) -> Page:
    """Up to ``limit`` attempts of ``drop`` matching ``filters``, after ``cursor``."""
    check_limit(limit)
    found: list[Attempt] = []
    for bucket in await store.buckets(drop, cursor.bucket if cursor else 0):
        after = None
        if cursor is not None and bucket == cursor.bucket:
            after = (cursor.decided_ms, cursor.event_id)
        while True:
            batch = await store.rows(drop, bucket, after, SCAN_BATCH)
            for attempt in batch:
                if filters.matches(attempt):
                    found.append(attempt)
                    if len(found) == limit:
                        return Page(found, Cursor.after(attempt).token())
            if len(batch) < SCAN_BATCH:
                break
            last = batch[-1].event
            after = (last.decision.decided_ms, last.event_id)
    return Page(found, None)
