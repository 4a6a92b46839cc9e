"""What every reconcile shares: settings, cluster connections, Redis clients.

Built once by the startup handler in :mod:`gavel_operator.handlers` and put in kopf's
operator-wide memo, which kopf copies (shallowly) into each object's memo; the reconcilers take
it as an argument.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from gavel_operator.auctions import RedisPool
from gavel_operator.clusters import Clusters
from gavel_operator.kube import Kube
from gavel_operator.metrics import OperatorMetrics
from gavel_operator.settings import OperatorSettings

T = TypeVar("T")


@dataclass(slots=True)
class Runtime:
    settings: OperatorSettings
    clusters: Clusters
    redis: RedisPool
    metrics: OperatorMetrics

    @classmethod
    def start(cls, settings: OperatorSettings) -> Runtime:
        return cls(
            settings,
            Clusters(Kube.from_environment(), settings.namespace),
            RedisPool(),
            OperatorMetrics(),
        )

    async def blocking(self, fn: Callable[..., T], *args: object) -> T:
        """Run a blocking cluster call in a worker thread, so one slow region holds only its
        own reconcile."""
        return await asyncio.to_thread(fn, *args)

    async def close(self) -> None:
        self.clusters.close()
        self.clusters.hub.close()
        await self.redis.close()
