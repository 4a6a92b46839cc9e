"""What the relay sends for what it read: outbox entries in, Kafka records out. Pure, no I/O.

Called by :mod:`gavel.relay.service` for every batch read from (or claimed on) the drop streams,
and by :mod:`gavel.relay.segments` for every disk-outbox segment. The rules:

* every decided attempt becomes one record on ``gavel.audit`` (the :class:`BidEvent` JSON);
* an accepted one also becomes one record on ``gavel.price`` (its :class:`PriceEvent` JSON);
* every record is keyed by the drop id, so one drop's records stay in order in one partition;
* an entry that does not parse becomes one record on ``gavel.audit.dlq`` with the raw fields and
  the reason, so a bad entry is kept for people and never blocks its stream;
* an entry deleted from its stream while still pending (its fields are gone) becomes nothing:
  it was relayed before, only its acknowledgement was lost.

Whatever the records, every entry of the batch is acknowledged (and deleted) once Kafka
acknowledged all of them: :attr:`Plan.acks`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from gavel import topics
from gavel.auction import Outcome
from gavel.events import SCHEMA_VERSION, BidEvent, EventError


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record to produce."""

    topic: str
    key: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """One stream entry as XREADGROUP or XAUTOCLAIM returned it."""

    stream: str
    drop_id: str
    entry_id: bytes
    fields: Mapping[bytes, bytes]
    """Empty when the entry was deleted while it was pending (Redis returns no fields)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """The records of one batch and the entries to acknowledge once Kafka has them all."""

    records: tuple[Record, ...]
    acks: Mapping[str, tuple[bytes, ...]]
    """Stream key -> entry ids, in stream order: XDEL + XACK after Kafka acknowledged."""
    dead_letters: tuple[str, ...] = ()
    """``<stream> <entry id>: <reason>`` for each entry sent to the dead-letter topic."""
    events: int = 0
    """Entries that were bid events (the rest were dead letters or already-deleted entries)."""

    @property
    def entries(self) -> int:
        return sum(len(ids) for ids in self.acks.values())


@dataclass(frozen=True, slots=True)
class SegmentPlan:
    """The records of one disk-outbox segment."""

    records: tuple[Record, ...]
    events: int
    dead_letters: tuple[str, ...] = ()


def records_for_event(event: BidEvent) -> list[Record]:
    """The audit record of ``event``, and its price record if it was accepted.

    Raises EventError for an accepted event that has no price (no high bid or leader).
    """
    key = event.drop.encode()
    records = [Record(topics.AUDIT, key, event.to_json())]
    if event.decision.outcome is Outcome.ACCEPTED:
        records.append(Record(topics.PRICE, key, event.price_event().to_json()))
    return records


def dead_letter(key: str, source: str, reason: str, payload: object) -> Record:
    """A record for ``gavel.audit.dlq``: what could not be relayed, where it was and why."""
    body = {"v": SCHEMA_VERSION, "source": source, "reason": reason, "payload": payload}
    value = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Record(topics.AUDIT_DEAD_LETTER, key.encode(), value)


def plan_batch(entries: Iterable[StreamEntry]) -> Plan:
    """The records for ``entries`` (in their order) and the acknowledgements that follow."""
    records: list[Record] = []
    acks: dict[str, list[bytes]] = {}
    dead: list[str] = []
    events = 0
    for entry in entries:
        acks.setdefault(entry.stream, []).append(entry.entry_id)
        if not entry.fields:
            continue
        try:
            event = BidEvent.from_stream(entry.fields)
            records.extend(records_for_event(event))
            events += 1
        except (EventError, UnicodeDecodeError) as exc:
            where = f"{entry.stream} {entry.entry_id.decode()}"
            fields = {
                k.decode(errors="replace"): v.decode(errors="replace")
                for k, v in entry.fields.items()
            }
            payload = {
                "stream": entry.stream,
                "entry_id": entry.entry_id.decode(),
                "fields": fields,
            }
            records.append(dead_letter(entry.drop_id, "stream", str(exc), payload))
            dead.append(f"{where}: {exc}")
    return Plan(
        records=tuple(records),
        acks={stream: tuple(ids) for stream, ids in acks.items()},
        dead_letters=tuple(dead),
        events=events,
    )


def plan_segment(name: str, segment_events: Sequence[BidEvent]) -> SegmentPlan:
    """The records for the events of one disk-outbox segment called ``name``."""
    records: list[Record] = []
    dead: list[str] = []
    for event in segment_events:
        try:
            records.extend(records_for_event(event))
        except EventError as exc:
            payload = {"segment": name, "event": json.loads(event.to_json())}
            records.append(dead_letter(event.drop, "outbox", str(exc), payload))
            dead.append(f"{name} {event.event_id}: {exc}")
    return SegmentPlan(records=tuple(records), events=len(segment_events), dead_letters=tuple(dead))


def count_by_topic(records: Iterable[Record]) -> dict[str, int]:
    """How many of ``records`` go to each topic (for the metrics)."""
    return dict(Counter(r.topic for r in records))
