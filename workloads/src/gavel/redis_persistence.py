"""How every Redis of Gavel persists: the one place for its server flags. Pure.

Used by the repository's local stack and by the operator's rendering of the regional Redis
StatefulSet, so a drop's outbox stream is as durable in a test as in a region.
The append-only file is fsynced every second (at most about a second of decisions is lost when
the host dies, never torn) and RDB snapshots are off: the AOF is the only copy worth keeping.
"""

from __future__ import annotations

REDIS_PERSISTENCE_ARGS: tuple[str, ...] = (
    "--appendonly",
    "yes",
    "--appendfsync",
    "everysec",
    "--save",
    "",
)
