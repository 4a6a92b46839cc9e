"""Kafka topic names and their layout: the one place these facts live.

Imported by every workload that produces or consumes, by the MirrorMaker 2 renderer
(:mod:`gavel.mirror`), by the operator and by the local stack. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICE = "gavel.price"
"""Accepted bids, keyed by drop id. Mirrored to every other region by MirrorMaker 2."""

AUDIT = "gavel.audit"
"""Every bid attempt, accepted or rejected, keyed by drop id. Stays in its region."""

AUDIT_DEAD_LETTER = "gavel.audit.dlq"
"""Audit records the writer cannot parse, with the reason, so they never block a partition."""

MIRROR_SEPARATOR = "."
"""MirrorMaker 2's DefaultReplicationPolicy separator: copies arrive as ``<source>.<topic>``."""


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """What a region's Kafka must hold before workloads start."""

    name: str
    partitions: int
    retention_ms: int


LOCAL_TOPICS: tuple[TopicSpec, ...] = (
    # Few partitions for prices: per-drop order comes from the key, and fewer partitions mean
    # fewer fetches for MirrorMaker 2 and every fan-out replica to poll.
    TopicSpec(PRICE, partitions=3, retention_ms=24 * 3600 * 1000),
    TopicSpec(AUDIT, partitions=6, retention_ms=7 * 24 * 3600 * 1000),
    TopicSpec(AUDIT_DEAD_LETTER, partitions=1, retention_ms=30 * 24 * 3600 * 1000),
)
"""Topics every region creates for itself; mirrored copies are created by MirrorMaker 2."""


def mirrored(topic: str, source_region: str) -> str:
    """Name of ``topic`` from ``source_region`` as it arrives in another region."""
    return f"{source_region}{MIRROR_SEPARATOR}{topic}"


def price_topics(local_region: str, all_regions: list[str] | tuple[str, ...]) -> list[str]:
    """Every price topic a fan-out in ``local_region`` consumes: its own and each mirror."""
    return [PRICE] + [mirrored(PRICE, r) for r in all_regions if r != local_region]
