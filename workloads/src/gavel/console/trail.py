"""What ``gavel drops results`` reads: every attempt of a drop from the audit trail, its final
state from the home Redis and its observers at peak from every participating region's Redis.
I/O adapter.

Called by :mod:`gavel.cli.drops_commands`; the result is made and checked by the pure
:mod:`.results`. The trail is read page by page in decided-time order through
:mod:`gavel.audit.reading`, as ``gavel audit show --all`` reads it.
"""

from __future__ import annotations

from redis.asyncio import Redis

from gavel.audit import reading
from gavel.audit.settings import CassandraTarget
from gavel.audit.store import AuditStore
from gavel.console import gather
from gavel.console.hub import Hub
from gavel.console.snapshot import DropInfo, Observed, Reading, participating
from gavel.events import BidEvent


class NotOpenedError(LookupError):
    """The drop is on the hub but its home Redis has no state for it."""


async def read_trail(target: CassandraTarget, drop: str) -> list[BidEvent]:
    """Every attempt of ``drop`` in the trail, in decided-time order."""
    store = AuditStore.open(target)
    try:
        found: list[BidEvent] = []
        cursor = None
        while True:
            page = await reading.read_page(store, drop, cursor=cursor, limit=reading.MAX_LIMIT)
            found.extend(a.event for a in page.attempts)
            if page.next_token is None:
                return found
            cursor = reading.Cursor.from_token(page.next_token)
    finally:
        store.close()


async def final_state(redis_url: str, drop: str) -> Reading:
    """The drop in its home Redis; raises NotOpenedError, or ConnectionError when that Redis
    cannot be read."""
    clients: dict[str, Redis] = {}
    try:
        found, error = await gather.redis_reading(clients, redis_url, drop)
    finally:
        for client in clients.values():
            await client.aclose()
    if error is not None:
        raise ConnectionError(error)
    if found is None:
        raise NotOpenedError(f"{drop} has no state in its home Redis: it was never opened there")
    return found


async def observers(hub: Hub, drop: DropInfo) -> dict[str, Observed]:
    """The drop's observers (now and at peak) in each participating region; a region whose
    Redis cannot be read says why."""
    reader = gather.RegionReader(hub)
    try:
        return await reader.observers(drop.name, participating(drop, gather.all_regions()))
    finally:
        await reader.close()
