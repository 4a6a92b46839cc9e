"""How many replicas a gateway waits for, per home region."""

from __future__ import annotations

from pathlib import Path

import pytest

from gavel.gateway.settings import ENV_VAR, GatewaySettings

URLS = {
    "us": "redis+sentinel://127.0.0.1:1,127.0.0.1:2,127.0.0.1:3/gavel-us/0",
    "eu": "redis://127.0.0.1:6379/0",
}


def _settings(**overrides: object) -> GatewaySettings:
    return GatewaySettings(
        region="us",
        redis_urls=URLS,
        jwks="/keys/jwks.json",
        token_issuer="https://idp.example/",
        outbox_dir=Path("/x"),
        **overrides,
    )


def test_a_region_with_sentinels_waits_for_one_replica_a_single_server_for_none() -> None:
    settings = _settings()
    assert settings.wait_replicas_for("us") == 1
    assert settings.wait_replicas_for("eu") == 0


def test_an_explicit_count_applies_to_every_region() -> None:
    assert _settings(wait_replicas=2).wait_replicas_for("us") == 2
    assert _settings(wait_replicas=0).wait_replicas_for("us") == 0


def test_settings_survive_the_trip_to_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(wait_replicas=2, wait_timeout_ms=250)
    monkeypatch.setenv(ENV_VAR, settings.to_env())
    assert GatewaySettings.from_env() == settings
