"""When to try a region again after it failed. Pure (the caller passes the clock).

One :class:`Retry` per target (a Region's cluster, a Drop's rollout to one region) lives in the
reconciler's per-object memo, so a region that is down is tried again after a capped,
jittered exponential delay while every other region goes on at the normal pace.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from gavel.backoff import Backoff

TRANSIENT = Backoff(initial_s=1.0, max_s=30.0)
"""Unreachable API server or Redis, conflicts, 5xx: soon, then less often."""
REFUSED = Backoff(initial_s=2.0, max_s=60.0)
"""401/403: usually a missing permission, but an API server that just restarted refuses too
until its authorizer has caught up, so not as slow as CONFIGURATION."""
CONFIGURATION = Backoff(initial_s=30.0, max_s=300.0)
"""A refusal that will not change until someone edits something (a missing Secret, 403, an
invalid object): look again now and then, since the operator does not watch Secrets."""


@dataclass(slots=True)
class Retry:
    failures: int = 0
    not_before: float = 0.0
    last_error: str = ""

    def due(self, now: float) -> bool:
        return now >= self.not_before

    def failed(self, now: float, error: str, backoff: Backoff = TRANSIENT) -> float:
        """Record a failure; returns the delay until the next attempt."""
        self.failures += 1
        self.last_error = error
        delay = backoff.delay(self.failures, random.random())
        self.not_before = now + delay
        return delay

    def succeeded(self) -> None:
        self.failures, self.not_before, self.last_error = 0, 0.0, ""
