"""The operator's settings, from the environment (the Helm chart sets them). Pure.

Read once by :mod:`gavel_operator.handlers` at import, because kopf fixes timer intervals when
the handlers are registered.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from gavel_operator.rendering import Images

NAMESPACE, TICK_S, RESYNC_S = "gavel-system", 2.0, 300.0


@dataclass(frozen=True, slots=True)
class OperatorSettings:
    namespace: str = NAMESPACE
    """The operator's namespace: where the Regions' kubeconfig Secrets live."""
    images: Images = field(default_factory=Images)
    tick_s: float = TICK_S
    """How often each Region and Drop is reconciled: the latency of a phase change."""
    resync_s: float = RESYNC_S
    """Re-apply unchanged objects this often, to undo drift made by hand in a region."""
    metrics_port: int = 0
    """Serve Prometheus metrics on this port (0: not at all)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorSettings:
        env = os.environ if env is None else env
        defaults = Images()
        return cls(
            namespace=env.get("GAVEL_OPERATOR_NAMESPACE", NAMESPACE),
            images=Images(
                gavel=env.get("GAVEL_IMAGE", defaults.gavel),
                redis=env.get("GAVEL_REDIS_IMAGE", defaults.redis),
                kafka=env.get("GAVEL_KAFKA_IMAGE", defaults.kafka),
            ),
            tick_s=float(env.get("GAVEL_OPERATOR_TICK_S", TICK_S)),
            resync_s=float(env.get("GAVEL_OPERATOR_RESYNC_S", RESYNC_S)),
            metrics_port=int(env.get("GAVEL_OPERATOR_METRICS_PORT", 0)),
        )
