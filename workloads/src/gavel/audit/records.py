"""What the writer does with one ``gavel.audit`` record: write a row, or dead-letter it. Pure.

Called by :class:`gavel.audit.service.AuditWriter` for every record it consumes. A record is
*poison* when no row can come of it: its value is not a v1 :class:`~gavel.events.BidEvent`
(not JSON, another schema version, missing or unknown fields) or a field does not fit the
table (:func:`gavel.audit.rows.attempt_from_event`). Poison goes to ``gavel.audit.dlq`` with
the reason and the original bytes, so it is kept for people and never blocks its partition.

A dead letter's value has the shape the relay uses for its own (``v``, ``source``, ``reason``,
``payload``); here ``payload`` says where the record was and carries its bytes in base64.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from gavel import topics
from gavel.audit.rows import Attempt, InvalidAttemptError, attempt_from_event, estimated_size
from gavel.events import SCHEMA_VERSION, BidEvent, EventError

SOURCE = "audit-writer"

MAX_BATCH_ROWS = 16
MAX_BATCH_BYTES = 4_500
"""A write request holds at most this many rows of one partition, of about this many bytes
in all: under Cassandra's batch-size warning threshold (5 KiB by default)."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Incoming:
    """The parts of a consumed Kafka record the writer looks at."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int = -1


@dataclass(frozen=True, slots=True)
class Write:
    attempt: Attempt


@dataclass(frozen=True, slots=True)
class Poison:
    reason: str


def classify(record: Incoming) -> Write | Poison:
    """The row ``record`` becomes, or why it cannot become one. Never raises."""
    if record.value is None:
        return Poison("record has no value")
    try:
        event = BidEvent.from_json(record.value)
        return Write(attempt_from_event(event))
    except (EventError, InvalidAttemptError) as exc:
        return Poison(str(exc))
    except (RecursionError, ValueError) as exc:  # absurdly nested JSON, huge numbers
        return Poison(f"bid event: {type(exc).__name__}: {exc}")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One record for ``gavel.audit.dlq``."""

    topic: str
    key: bytes | None
    value: bytes


def dead_letter(record: Incoming, reason: str) -> DeadLetter:
    """The dead letter for ``record``: why, where it was, and its bytes as they arrived."""
    value = record.value or b""
    payload = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp_ms": record.timestamp_ms,
        "key": record.key.decode("utf-8", errors="replace") if record.key is not None else None,
        "value_base64": base64.b64encode(value).decode("ascii"),
    }
    body = {"v": SCHEMA_VERSION, "source": SOURCE, "reason": reason, "payload": payload}
    encoded = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return DeadLetter(topics.AUDIT_DEAD_LETTER, record.key, encoded)


def batch_by_partition(
    items: Sequence[T],
    attempt_of: Callable[[T], Attempt],
    max_rows: int = MAX_BATCH_ROWS,
    max_bytes: int = MAX_BATCH_BYTES,
) -> list[list[T]]:
    """``items`` in groups that each become one write request: same partition (drop and
    bucket), at most ``max_rows`` rows and about ``max_bytes``. Order is kept within a group
    and groups come in the order of their first item (order does not matter for correctness:
    every row has its own key; it keeps the groups predictable)."""
    open_groups: dict[tuple[str, int], tuple[list[T], int]] = {}
    done: list[list[T]] = []
    for item in items:
        attempt = attempt_of(item)
        key = attempt.partition
        size = estimated_size(attempt)
        group, used = open_groups.get(key, ([], 0))
        if group and (len(group) >= max_rows or used + size > max_bytes):
            done.append(group)
            group, used = [], 0
        group.append(item)
        open_groups[key] = (group, used + size)
    return done + [group for group, _ in open_groups.values()]
