"""What the stores hold at the end of a herd: the drop's final state and its audit trail.

Called by :mod:`gavel.herd.run` once bidding is over. The final state is the home region's
gateway view (``GET /v1/drops/{drop}``, the state hash ``place_bid.lua`` keeps); the audit trail
is read back from Cassandra page by page (:mod:`gavel.audit.reading`), and read again until it
holds every attempt a bidder was answered for, or a deadline passes (the relay and the audit
writer are asynchronous: an answered attempt reaches Cassandra a little later).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection

from gavel.audit import reading
from gavel.audit.settings import CassandraTarget
from gavel.audit.store import AuditStore
from gavel.events import BidEvent
from gavel.herd.checker import FinalState
from gavel.herd.http1 import Connection


async def drop_view(gateway: str, drop: str) -> dict[str, object]:
    """The gateway's public view of ``drop``; raises HttpError, or ValueError if not 200."""
    conn = Connection(gateway)
    try:
        status, body = await conn.request("GET", f"/v1/drops/{drop}")
    finally:
        conn.close()
    if status != 200 or not isinstance(body, dict):
        raise ValueError(f"GET /v1/drops/{drop} on {gateway}: {status} {body!r}")
    return body


async def final_state(gateway: str, drop: str) -> FinalState:
    body = await drop_view(gateway, drop)
    seq, high, alias = body["seq"], body["high_bid"], body["leader_alias"]
    return FinalState(
        seq if isinstance(seq, int) else -1,
        high if isinstance(high, int) else None,
        alias if isinstance(alias, str) else None,
    )


async def until_closed(gateway: str, drop: str, deadline_s: float) -> str:
    """Wait until the gateway says the drop is no longer live; returns its status."""
    while True:
        status = str((await drop_view(gateway, drop))["status"])
        if status not in {"live", "scheduled"} or time.monotonic() > deadline_s:
            return status
        await asyncio.sleep(0.2)


async def _read_all(store: AuditStore, drop: str) -> list[BidEvent]:
    events: list[BidEvent] = []
    cursor = None
    while True:
        page = await reading.read_page(store, drop, cursor=cursor, limit=reading.MAX_LIMIT)
        events += [a.event for a in page.attempts]
        if page.next_token is None:
            return events
        cursor = reading.Cursor.from_token(page.next_token)


async def audit_trail(
    target: CassandraTarget, drop: str, expected: Collection[str], timeout_s: float
) -> tuple[list[BidEvent], float]:
    """``drop``'s audit rows once they include every event id of ``expected`` (or after
    ``timeout_s``, whatever they hold then: the checker names what is missing), and how long
    that took."""
    store = await asyncio.to_thread(AuditStore.open, target)
    start = time.monotonic()
    try:
        while True:
            events = await _read_all(store, drop)
            missing = set(expected) - {e.event_id for e in events}
            if not missing or time.monotonic() - start > timeout_s:
                return events, time.monotonic() - start
            await asyncio.sleep(0.5)
    finally:
        await asyncio.to_thread(store.close)
