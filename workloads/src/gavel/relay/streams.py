"""Redis side of the relay: which drop streams exist, and reading, claiming and acknowledging
their entries in the relay's consumer group. A thin adapter: no decisions, one method per kind
of Redis round trip.

Used only by :mod:`gavel.relay.service`. Every method may raise ``redis.exceptions.RedisError``;
the service retries with a backoff.

Multi-stream commands (one XREADGROUP over every drop) assume one Redis node, as in every
region today. On a Redis Cluster they must be issued per slot; the scripts already keep each
drop's keys in one slot.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from gavel import keys
from gavel.relay.plan import StreamEntry

log = logging.getLogger(__name__)

_Entries = Sequence[tuple[bytes, Mapping[bytes, bytes] | None]]
"""Entries as redis-py parses them (RESP2, bytes) in XREADGROUP and XAUTOCLAIM replies."""


class DropStreams:
    """The drop streams of one Redis, as seen by one consumer of :data:`keys.RELAY_GROUP`."""

    def __init__(self, redis: Redis, consumer: str, group: str = keys.RELAY_GROUP) -> None:
        self.redis = redis
        self.consumer = consumer
        self.group = group
        self._drops: dict[str, str] = {}
        """Stream key -> drop id, for every drop whose group exists."""

    @property
    def streams(self) -> Mapping[str, str]:
        """Stream key -> drop id of every stream being read."""
        return self._drops

    async def refresh(self) -> list[str]:
        """Read the drop index again; creates the group on new drops' streams (idempotently)
        and forgets drops that left the index. Returns the ids of the new drops."""
        members = await self.redis.smembers(keys.DROP_INDEX)
        wanted: dict[str, str] = {}
        for raw in members:
            drop_id = raw.decode() if isinstance(raw, bytes) else str(raw)
            try:
                wanted[keys.for_drop(drop_id).events] = drop_id
            except ValueError:
                log.warning("ignoring %r in %s: not a drop id", drop_id, keys.DROP_INDEX)
        new = [s for s in wanted if s not in self._drops]
        for stream in new:
            await self._ensure_group(stream)
            self._drops[stream] = wanted[stream]
        for stream in [s for s in self._drops if s not in wanted]:
            del self._drops[stream]
        return [wanted[s] for s in new]

    async def _ensure_group(self, stream: str) -> None:
        # From 0, so entries written before the relay first saw the drop are relayed too.
        try:
            await self.redis.xgroup_create(stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def regroup(self) -> None:
        """After NOGROUP (a stream was deleted): forget drops that left the index, whose streams
        were removed on purpose (the operator's clean-up of a deleted Drop), and create the
        group again on the others. Recreating a removed drop's stream would leave an orphan."""
        await self.refresh()
        for stream in self._drops:
            await self._ensure_group(stream)

    async def read_new(self, count: int, block_ms: int) -> list[StreamEntry]:
        """Entries never delivered to any consumer, up to ``count`` per stream; waits up to
        ``block_ms`` for the first one."""
        return await self._read(">", count, block_ms)

    async def read_own_pending(self, count: int) -> list[StreamEntry]:
        """Entries delivered to this consumer name earlier and never acknowledged (a process
        that restarted under the same name, e.g. a container restarted in its pod)."""
        return await self._read("0", count, None)

    async def _read(self, start: str, count: int, block_ms: int | None) -> list[StreamEntry]:
        if not self._drops:
            return []
        try:
            reply = await self.redis.xreadgroup(
                self.group,
                self.consumer,
                dict.fromkeys(self._drops, start),
                count=count,
                block=block_ms,
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            log.warning("a stream lost its consumer group (%s); creating the groups again", exc)
            await self.regroup()
            return []
        streams = cast("list[tuple[bytes, _Entries]]", reply or [])
        return [e for raw, items in streams for e in self._entries(raw.decode(), items)]

    async def claim_idle(self, min_idle_ms: int, count: int) -> list[StreamEntry]:
        """Take over entries pending for longer than ``min_idle_ms`` with any consumer (one
        that died): up to ``count`` per stream, oldest first. Entries deleted while pending are
        dropped from the pending list by Redis itself."""
        if not self._drops:
            return []
        streams = list(self._drops)
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream in streams:
                pipe.xautoclaim(stream, self.group, self.consumer, min_idle_ms, "0-0", count=count)
            replies = await pipe.execute(raise_on_error=False)
        entries: list[StreamEntry] = []
        lost_a_group = False
        for stream, reply in zip(streams, replies, strict=True):
            if isinstance(reply, ResponseError):
                if "NOGROUP" in str(reply):
                    lost_a_group = True
                    continue
                raise reply
            if isinstance(reply, Exception):
                raise reply
            entries.extend(self._entries(stream, cast("_Entries", reply[1])))
        if lost_a_group:  # once for the batch, however many streams vanished
            await self.regroup()
        return entries

    async def keep_alive(self, acks: Mapping[str, Sequence[bytes]]) -> None:
        """Reset the idle time of entries this relay holds (XCLAIM ... JUSTID to itself), so
        no other relay claims them while Kafka is slow or down."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream, ids in acks.items():
                pipe.xclaim(stream, self.group, self.consumer, 0, list(ids), justid=True)
            await pipe.execute()

    async def ack_and_delete(self, acks: Mapping[str, Sequence[bytes]]) -> None:
        """Acknowledge and delete relayed entries.

        XDEL comes first: a crash between the two leaves a pending entry without fields, which
        the next reader acknowledges without sending anything (XAUTOCLAIM even drops it by
        itself). The other order could leave an acknowledged entry in the stream for ever.
        Both commands are idempotent, so a retry after a lost reply is harmless.
        """
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream, ids in acks.items():
                pipe.xdel(stream, *ids)
                pipe.xack(stream, self.group, *ids)
            await pipe.execute()

    async def backlog(self) -> int:
        """Entries in every stream (relayed ones are deleted: this is what is left to do)."""
        if not self._drops:
            return 0
        async with self.redis.pipeline(transaction=False) as pipe:
            for stream in self._drops:
                pipe.xlen(stream)
            lengths: list[int] = await pipe.execute()
        return sum(lengths)

    def _entries(self, stream: str, items: _Entries) -> list[StreamEntry]:
        drop_id = self._drops.get(stream) or stream.removeprefix("{").split("}", 1)[0]
        return [StreamEntry(stream, drop_id, entry_id, fields or {}) for entry_id, fields in items]
