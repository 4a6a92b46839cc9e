"""Waiting in tests: for a condition with a deadline, never for a fixed time.

Every integration and e2e test that waits for something asynchronous to happen calls
:func:`poll` (blocking code, e.g. kubectl) or :func:`wait_for` (in an event loop); both fail
with what was awaited once the deadline passes. A check that something did *not* happen calls
:func:`holds`, which keeps checking for the whole period the thing had to happen in, so the
test fails as soon as it does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def poll(check: Callable[[], T | None], *, timeout_s: float, what: str, every_s: float = 0.3) -> T:
    """Call ``check`` until it returns something truthy, and return that; fail with ``what``
    (and the last value seen) after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what} (last: {last!r})")


async def wait_for(
    check: Callable[[], Awaitable[bool]], timeout_s: float, what: str, interval_s: float = 0.1
) -> None:
    """Await ``check`` until it returns true; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        await asyncio.sleep(interval_s)


def holds(check: Callable[[], object], *, for_s: float, what: str, every_s: float = 0.3) -> None:
    """Call ``check`` for ``for_s`` seconds (at least twice: now and at the end) and fail with
    ``what`` the first time it returns something falsy."""
    deadline = time.monotonic() + for_s
    while True:
        if not check():
            raise AssertionError(f"no longer true: {what}")
        if time.monotonic() >= deadline:
            return
        time.sleep(min(every_s, max(0.0, deadline - time.monotonic())))
