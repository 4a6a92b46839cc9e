"""Read what arrives on real Kafka topics, from every partition, for assertions.

A :class:`KafkaTail` opened with ``from_end=True`` sees only records produced after it opened
(so shared topics with history stay cheap to read); ``from_end=False`` reads everything (a
throwaway broker). Records can be kept only for some keys (the test's drop ids).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Self

from aiokafka import AIOKafkaConsumer, TopicPartition

from gavel import kafka_auth, kafka_clients, topics
from gavel_devstack.harness.stack_env import stack_kafka_auth


@dataclass(frozen=True, slots=True)
class Seen:
    topic: str
    key: bytes
    value: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.value.get("event_id"))


@dataclass
class KafkaTail:
    bootstrap: str
    topic_names: tuple[str, ...]
    keys: Collection[bytes] | None = None
    from_end: bool = True
    auth: kafka_auth.KafkaAuth | None = None
    """Whom to read as; None: the stack's admin (a test sees everything)."""
    seen: list[Seen] = field(default_factory=list)
    _consumer: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> Self:
        consumer = kafka_clients.make_consumer(
            bootstrap=self.bootstrap,
            group_id=None,
            client_id="test-tail",
            auth=self.auth or stack_kafka_auth(kafka_auth.ADMIN),
        )
        await consumer.start()
        self._consumer = consumer
        try:
            specs = {spec.name: spec.partitions for spec in topics.LOCAL_TOPICS}
            partitions = [TopicPartition(t, p) for t in self.topic_names for p in range(specs[t])]
            consumer.assign(partitions)
            if self.from_end:
                await consumer.seek_to_end(*partitions)
            else:
                await consumer.seek_to_beginning(*partitions)
            for tp in partitions:  # resolve the positions now, before anything is produced
                await consumer.position(tp)
        except BaseException:
            await consumer.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def poll(self, timeout_ms: int = 200) -> None:
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=10_000)
        for records in batches.values():
            for r in records:
                if self.keys is None or r.key in self.keys:
                    self.seen.append(Seen(r.topic, r.key, json.loads(r.value)))

    async def until(
        self, done: Callable[[KafkaTail], bool], timeout_s: float, what: str
    ) -> KafkaTail:
        """Poll until ``done(self)``; fails the test after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while not done(self):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{what}: not seen within {timeout_s} s; have {self.summary()}"
                )
            await self.poll()
        return self

    def event_ids(self, topic: str) -> list[str]:
        """Event ids seen on ``topic``, with repeats (at-least-once delivery)."""
        return [s.event_id for s in self.seen if s.topic == topic]

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for s in self.seen:
            counts[s.topic] = counts.get(s.topic, 0) + 1
        return ", ".join(f"{t}: {n} records" for t, n in sorted(counts.items())) or "nothing"
