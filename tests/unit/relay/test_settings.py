from __future__ import annotations

import os

import pytest

from gavel.relay.settings import RelaySettings, default_consumer


def settings(**overrides: object) -> RelaySettings:
    base: dict[str, object] = {
        "region": "us",
        "redis_url": "redis://r:6379/0",
        "kafka_bootstrap": "k:9092",
        "port": 9100,
    }
    return RelaySettings(**{**base, **overrides})


def test_defaults_claim_after_ten_seconds_and_keep_alive_three_times_as_often() -> None:
    s = settings()
    assert s.claim_idle_ms == 10_000
    assert s.keepalive_s == pytest.approx(10 / 3)
    assert s.outbox_dir is None


def test_the_consumer_name_is_unique_per_process() -> None:
    assert default_consumer().endswith(f"-{os.getpid()}")
    assert settings().consumer == default_consumer()


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"port": 70_000}, "port"),
        ({"claim_idle_ms": 10}, "claim_idle_ms"),
        ({"batch_size": 0}, "batch_size"),
        ({"block_ms": 0}, "block_ms"),
        ({"consumer": ""}, "consumer"),
        ({"streams": False}, "needs an outbox folder"),
    ],
)
def test_nonsense_is_refused(overrides: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        settings(**overrides)
