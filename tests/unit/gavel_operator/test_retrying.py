from __future__ import annotations

from gavel_operator.retrying import CONFIGURATION, TRANSIENT, Retry


def test_failures_back_off_and_success_resets() -> None:
    retry = Retry()
    assert retry.due(0)
    first = retry.failed(100, "down")
    assert TRANSIENT.initial_s / 2 <= first <= TRANSIENT.initial_s
    assert not retry.due(100)
    assert retry.due(100 + first)
    for _ in range(10):
        delay = retry.failed(200, "down")
    assert delay <= TRANSIENT.max_s
    assert (retry.failures, retry.last_error) == (11, "down")
    retry.succeeded()
    assert (retry.failures, retry.last_error, retry.due(0)) == (0, "", True)


def test_configuration_errors_wait_longer() -> None:
    retry = Retry()
    assert retry.failed(0, "missing Secret", CONFIGURATION) >= CONFIGURATION.initial_s / 2
