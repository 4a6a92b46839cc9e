"""What rendering needs of a Region: :class:`RegionView`, the images, the default resources.

Pure. Built by the operator's Region handler (:mod:`gavel_operator.region_sync`) from a Region's
spec and read by :mod:`gavel_operator.rendering` (which re-exports these names, where callers
import them from).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gavel.resources.region import (
    BidderTokens,
    CaSecret,
    Cassandra,
    KafkaSecurity,
    RegionSpec,
    Resources,
)
from gavel_operator.rendering_parts import Obj


def _amounts(cpu: str, memory: str) -> dict[str, str]:
    return {"cpu": cpu, "memory": memory}


DEFAULT_RESOURCES: dict[str, Obj] = {
    "gateway": {"requests": _amounts("500m", "256Mi"), "limits": _amounts("2", "512Mi")},
    "fanout": {"requests": _amounts("500m", "512Mi"), "limits": _amounts("2", "1Gi")},
    "relay": {"requests": _amounts("200m", "256Mi"), "limits": _amounts("1", "512Mi")},
    "auditWriter": {"requests": _amounts("200m", "256Mi"), "limits": _amounts("1", "512Mi")},
    "redis": {"requests": _amounts("1", "1Gi"), "limits": _amounts("2", "2Gi")},
    "redisSentinel": {"requests": _amounts("50m", "64Mi"), "limits": _amounts("500m", "128Mi")},
    "mirrormaker": {"requests": _amounts("500m", "1Gi"), "limits": _amounts("1", "2Gi")},
    "outboxShipper": {"requests": _amounts("50m", "96Mi"), "limits": _amounts("500m", "256Mi")},
}
"""Per component (the keys of a Region's spec.resources); CPU limits above requests let the
gateway and fan-out burst through a spike before the HPA reacts."""


@dataclass(frozen=True, slots=True)
class Images:
    """Container images; operator settings, the same for every region."""

    gavel: str = "ghcr.io/gavel-dev/gavel:0.1.0"
    redis: str = "redis:7.0"
    kafka: str = "apache/kafka:4.1.1"


@dataclass(frozen=True, slots=True)
class RegionView:
    """What rendering needs of one Region resource."""

    name: str
    namespace: str
    kafka_bootstrap: str
    redis_url: str
    """How other regions (and the operator) reach this region's Redis."""
    gateway_min: int
    fanout_min: int
    """Replica floors: the baseline, or more while drops need it (scheduling.region_minimums)."""
    cassandra_contact: str
    cassandra_dc: str
    redis_replicas: int
    """spec.redis.replicas: 0 is a single server, more a primary with Sentinels."""
    resources: Resources = field(default_factory=Resources)
    """spec.resources: per component, what overrides :data:`DEFAULT_RESOURCES`."""
    gateway_url: str | None = None
    """Public URL of its bid gateway: where drop pages send bids (spec.endpoints.gatewayUrl)."""
    fanout_url: str | None = None
    """Public ws(s) URL of its fan-out, which also serves the drop page at that origin."""
    bidder_tokens: BidderTokens | None = None
    """spec.bidderTokens: the JWKS (URL or ConfigMap) and issuer gateways verify tokens with."""
    kafka: KafkaSecurity | None = None
    """spec.kafka: the workloads' Kafka users and the brokers' CA (rendering_kafka)."""
    redis_auth_secret: str | None = None
    """spec.endpoints.redisAuthSecret: the Secret with each workload's Redis login."""
    redis_ca: CaSecret | None = None
    """spec.endpoints.redisCaSecret: the CA of rediss:// Redis servers."""
    cassandra: Cassandra | None = None
    """spec.endpoints.cassandra: its logins' Secrets and CA (rendering_cassandra); None or
    neither set: an anonymous, plain client."""

    @classmethod
    def of(cls, name: str, spec: RegionSpec, minimums: tuple[int, int] | None = None) -> RegionView:
        gateway, fanout = minimums or (spec.baseline.gateway, spec.baseline.fanout)
        cassandra = spec.endpoints.cassandra
        return cls(
            name,
            spec.namespace,
            spec.endpoints.kafka_bootstrap,
            spec.endpoints.redis_url,
            gateway,
            fanout,
            cassandra.contact_points,
            cassandra.data_center or name,
            spec.redis.replicas,
            spec.resources,
            spec.endpoints.gateway_url,
            spec.endpoints.fanout_url,
            spec.bidder_tokens,
            spec.kafka,
            spec.endpoints.redis_auth_secret,
            spec.endpoints.redis_ca_secret,
            cassandra,
        )

    def resources_of(self, component: str) -> Obj:
        """The container resources of ``component``: the defaults, overridden key by key."""
        default = DEFAULT_RESOURCES[component]
        given = self.resources.of(component)
        return {part: default[part] | given.get(part, {}) for part in ("requests", "limits")}
