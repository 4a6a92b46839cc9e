from __future__ import annotations

import itertools
import time

import pytest

from gavel_devstack.harness.waiting import holds, poll, wait_for


def test_poll_returns_the_first_truthy_value() -> None:
    values = iter([None, 0, "ready"])
    assert poll(lambda: next(values), timeout_s=5, what="ready", every_s=0) == "ready"


def test_poll_fails_naming_what_it_waited_for_and_the_last_value() -> None:
    with pytest.raises(AssertionError, match=r"waiting for the pod \(last: 0\)"):
        poll(lambda: 0, timeout_s=0.05, what="the pod", every_s=0.01)


async def test_wait_for_returns_once_the_check_holds() -> None:
    calls = itertools.count(1)

    async def third_time() -> bool:
        return next(calls) >= 3

    await wait_for(third_time, 5, "the third call", interval_s=0)


async def test_wait_for_fails_after_its_deadline() -> None:
    async def never() -> bool:
        return False

    with pytest.raises(AssertionError, match=r"the drain: not within 0\.05 s"):
        await wait_for(never, 0.05, "the drain", interval_s=0.01)


def test_holds_keeps_checking_for_the_whole_period() -> None:
    started = time.monotonic()
    holds(lambda: True, for_s=0.1, what="still there", every_s=0.02)
    assert time.monotonic() - started >= 0.1


def test_holds_fails_as_soon_as_the_check_turns_false() -> None:
    values = iter([True, True, False, True])
    with pytest.raises(AssertionError, match="no longer true: the Region's pods"):
        holds(lambda: next(values), for_s=5, what="the Region's pods", every_s=0)
