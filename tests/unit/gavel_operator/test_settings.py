from __future__ import annotations

from gavel_operator.settings import OperatorSettings


def test_defaults_and_environment() -> None:
    assert OperatorSettings.from_env({}) == OperatorSettings()
    s = OperatorSettings.from_env(
        {
            "GAVEL_OPERATOR_NAMESPACE": "ops",
            "GAVEL_IMAGE": "registry.local/gavel:1",
            "GAVEL_OPERATOR_TICK_S": "0.5",
            "GAVEL_OPERATOR_RESYNC_S": "60",
        }
    )
    assert (s.namespace, s.images.gavel, s.tick_s, s.resync_s) == (
        "ops",
        "registry.local/gavel:1",
        0.5,
        60.0,
    )
    assert s.images.redis == OperatorSettings().images.redis
