"""Retry a step until it succeeds or the workload stops; repeat a step until it stops.

Used by the relay (starting the Kafka producer, reading and acknowledging the drop streams,
sending a batch, its periodic outbox and gauge loops), the audit writer (connecting to
Cassandra, starting its Kafka clients, writing rows, dead-lettering, its commit and gauge
loops) and the fan-out's Kafka ingest. Nothing here gives up on a dependency: the caller says
which errors are transient, how long to wait after each (:mod:`gavel.backoff`) and what a
failure logs and counts (an ``on_failure`` hook, so each workload keeps its own messages,
metrics and readiness flags); this module only waits, and waits on the stop event, so a
stopping workload never sleeps out a backoff.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

T = TypeVar("T")


class StoppedError(Exception):
    """The stop event was set before the step succeeded."""


class Delays(Protocol):
    """How long to wait after a run of failures (:class:`gavel.backoff.Backoff` is one)."""

    def delay(self, failures: int, rand: float) -> float: ...


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed attempt, as an ``on_failure`` hook sees it."""

    error: BaseException
    failures: int
    """Consecutive failures of this step so far, this one included (>= 1)."""
    delay_s: float
    """How long the step waits before its next attempt (less if the workload stops)."""


OnFailure = Callable[[Failure], Awaitable[None]]


async def pause(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` or until ``stop`` is set; True if it is set."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


async def retry(
    step: Callable[[], Awaitable[T]],
    *,
    transient: tuple[type[BaseException], ...],
    delays: Delays,
    stop: asyncio.Event,
    on_failure: OnFailure,
    rand: Callable[[], float] = random.random,
) -> T:
    """``await step()`` until it returns; its result.

    After each ``transient`` error: ``on_failure`` (before the wait), then a wait of
    ``delays.delay(failures, rand())``. Raises StoppedError (from the last error) if ``stop``
    is set during a wait; any other error of ``step`` propagates at once. The first attempt is
    made even if ``stop`` is already set: a step that finishes work already done (acknowledging
    what Kafka took) should get its chance; callers that must not start check ``stop`` first.
    """
    failures = 0
    while True:
        try:
            return await step()
        except transient as exc:
            failures += 1
            failure = Failure(exc, failures, delays.delay(failures, rand()))
            await on_failure(failure)
            if await pause(stop, failure.delay_s):
                raise StoppedError(f"stopped after {failures} failure(s): {exc!r}") from exc


async def repeat(
    step: Callable[[], Awaitable[None]], *, every_s: float, stop: asyncio.Event
) -> None:
    """``await step()``, then rest ``every_s``, until ``stop`` is set (checked before each
    step; a rest ends early when it is set)."""
    while not stop.is_set():
        await step()
        await pause(stop, every_s)
