"""Retry delays: capped exponential backoff with jitter, or a fixed pause. Pure.

Passed to :func:`gavel.lifecycle.retrying.retry` by the relay (Kafka unreachable at start, a
batch Kafka refused, Redis down) and the audit writer (Cassandra unreachable, the dead-letter
topic refusing a record, Kafka down at start), and used by the operator's reconcilers, between
failed attempts, so no workload spins on a dead dependency and many replicas that lost the same
server do not retry in lock-step. :class:`Fixed` is the fan-out's: its ingest restarts its
consumer a second after any failure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """``initial_s`` after the first failure, times ``factor`` per further failure, at most
    ``max_s``."""

    initial_s: float = 0.2
    max_s: float = 5.0
    factor: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.max_s or self.factor < 1:
            raise ValueError(f"invalid backoff {self}")

    def delay(self, failures: int, rand: float) -> float:
        """Seconds to wait after ``failures`` (>= 1) consecutive failures; ``rand`` in [0, 1)
        (``random.random()``) spreads the second half of the delay ("equal jitter")."""
        exponent = max(0, failures - 1)
        # Cap the exponent first: factor ** 1000 overflows a float.
        base = self.max_s
        if exponent < 64:
            base = min(self.max_s, self.initial_s * self.factor**exponent)
        return base / 2 + base / 2 * min(max(rand, 0.0), 1.0)


@dataclass(frozen=True, slots=True)
class Fixed:
    """``seconds`` after every failure, without jitter."""

    seconds: float

    def delay(self, failures: int, rand: float) -> float:
        return self.seconds
