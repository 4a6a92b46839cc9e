from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from gavel.backoff import Backoff, Fixed
from gavel.lifecycle.retrying import Failure, StoppedError, pause, repeat, retry

QUICK = Backoff(initial_s=0.01, max_s=0.04)
SLOW = Backoff(initial_s=30.0, max_s=60.0)


class Flaky:
    """A step that fails with ``error`` ``times`` times, then returns how often it ran."""

    def __init__(self, times: int, error: Exception | None = None) -> None:
        self.times = times
        self.error = error or ConnectionError("down")
        self.calls = 0

    async def __call__(self) -> int:
        self.calls += 1
        if self.calls <= self.times:
            raise self.error
        return self.calls


class Seen:
    def __init__(self) -> None:
        self.failures: list[Failure] = []

    async def __call__(self, failure: Failure) -> None:
        self.failures.append(failure)


async def test_retries_transient_errors_with_growing_delays_until_the_step_succeeds() -> None:
    step, seen = Flaky(times=4), Seen()
    loop = asyncio.get_running_loop()
    began = loop.time()
    result = await retry(
        step,
        transient=(ConnectionError,),
        delays=QUICK,
        stop=asyncio.Event(),
        on_failure=seen,
        rand=lambda: 1.0,
    )
    assert result == 5
    assert [f.failures for f in seen.failures] == [1, 2, 3, 4]
    assert [f.delay_s for f in seen.failures] == [0.01, 0.02, 0.04, 0.04]
    assert all(isinstance(f.error, ConnectionError) for f in seen.failures)
    assert loop.time() - began >= 0.1  # it waited every delay out


async def test_jitter_comes_from_rand() -> None:
    seen = Seen()
    await retry(
        Flaky(times=1),
        transient=(ConnectionError,),
        delays=QUICK,
        stop=asyncio.Event(),
        on_failure=seen,
        rand=lambda: 0.0,
    )
    assert [f.delay_s for f in seen.failures] == [0.005]


async def test_a_stop_ends_the_wait_and_raises_stopped_from_the_last_error() -> None:
    stop, seen = asyncio.Event(), Seen()
    step = Flaky(times=10**6)
    asyncio.get_running_loop().call_later(0.05, stop.set)
    async with asyncio.timeout(5):  # the 30 s backoff is not waited out
        with pytest.raises(StoppedError) as caught:
            await retry(step, transient=(ConnectionError,), delays=SLOW, stop=stop, on_failure=seen)
    assert step.calls == 1
    assert len(seen.failures) == 1
    assert caught.value.__cause__ is step.error


async def test_errors_that_are_not_transient_propagate_at_once() -> None:
    step, seen = Flaky(times=1, error=ValueError("a bug")), Seen()
    with pytest.raises(ValueError, match="a bug"):
        await retry(
            step, transient=(ConnectionError,), delays=QUICK, stop=asyncio.Event(), on_failure=seen
        )
    assert step.calls == 1
    assert seen.failures == []


async def test_the_first_attempt_runs_even_when_already_stopped() -> None:
    stop = asyncio.Event()
    stop.set()
    ok = await retry(
        Flaky(times=0), transient=(ConnectionError,), delays=SLOW, stop=stop, on_failure=Seen()
    )
    assert ok == 1
    failing = Flaky(times=1)
    with pytest.raises(StoppedError):
        await retry(
            failing, transient=(ConnectionError,), delays=SLOW, stop=stop, on_failure=Seen()
        )
    assert failing.calls == 1


async def test_the_hook_runs_before_the_wait() -> None:
    stop = asyncio.Event()

    async def stop_now(failure: Failure) -> None:
        stop.set()

    async with asyncio.timeout(5):
        with pytest.raises(StoppedError):
            await retry(
                Flaky(times=1),
                transient=(ConnectionError,),
                delays=Fixed(30.0),
                stop=stop,
                on_failure=stop_now,
            )


async def test_pause_says_whether_it_was_stopped() -> None:
    stop = asyncio.Event()
    assert await pause(stop, 0.01) is False
    asyncio.get_running_loop().call_later(0.01, stop.set)
    async with asyncio.timeout(5):
        assert await pause(stop, 30.0) is True


def counting_step(
    stop: asyncio.Event, stop_after: int
) -> tuple[list[int], Callable[[], Awaitable[None]]]:
    calls: list[int] = []

    async def step() -> None:
        calls.append(len(calls) + 1)
        if len(calls) == stop_after:
            stop.set()

    return calls, step


async def test_repeat_runs_the_step_until_stopped() -> None:
    stop = asyncio.Event()
    calls, step = counting_step(stop, stop_after=3)
    await repeat(step, every_s=0.01, stop=stop)
    assert calls == [1, 2, 3]


async def test_a_stop_cuts_the_rest_short() -> None:
    stop = asyncio.Event()
    calls, step = counting_step(stop, stop_after=1)
    async with asyncio.timeout(5):
        await repeat(step, every_s=30.0, stop=stop)
    assert calls == [1]


async def test_repeat_does_nothing_once_stopped() -> None:
    stop = asyncio.Event()
    stop.set()
    ran = False

    async def step() -> None:
        nonlocal ran
        ran = True

    await repeat(step, every_s=0.01, stop=stop)
    assert not ran
