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
from dataclasses import dataclass

from gavel import topics
from gavel.audit.rows import Attempt, InvalidAttemptError, attempt_from_event
from gavel.events import SCHEMA_VERSION, BidEvent, EventError

SOURCE = "audit-writer"


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
