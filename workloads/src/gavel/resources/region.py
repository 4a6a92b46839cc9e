"""The Region resource: where and how Gavel runs in one regional cluster. Pure.

Parsed by the operator's Region handlers (:mod:`gavel_operator.handlers`) and read by its
reconcilers, rendering and scheduling; converted into the Region CRD's schema by
:mod:`gavel_operator.crds`.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from gavel.resources.fields import (
    DNS_LABEL,
    GENERATION_MAX,
    Conditions,
    Int,
    ObjectMeta,
    Quantity,
    Resource,
    Rule,
    Time,
)


class SecretRef(Resource):
    name: str = Field(min_length=1, description="Secret name.")
    key: str = Field(default="kubeconfig", description="Key in the Secret.")


class ClusterRef(Resource):
    cel = (
        Rule(
            "has(self.inCluster) && self.inCluster"
            " ? !has(self.kubeconfigSecretRef) : has(self.kubeconfigSecretRef)",
            "set exactly one of cluster.inCluster: true or cluster.kubeconfigSecretRef",
        ),
    )

    in_cluster: bool | None = Field(
        default=None, description="The operator's own cluster (no kubeconfig)."
    )
    kubeconfig_secret_ref: SecretRef | None = Field(
        default=None, description="A Secret in the operator's namespace holding a kubeconfig."
    )


SecretName = Annotated[
    str,
    Field(
        pattern=DNS_LABEL,
        max_length=63,
        description="A Secret in the Region's namespace of the regional cluster, with the keys "
        "username and password.",
    ),
]


class CaSecret(Resource):
    name: str = Field(pattern=DNS_LABEL, max_length=63, description="Secret name.")
    key: str = Field(default="ca.crt", min_length=1, description="Key of the PEM CA in it.")


class CassandraUsers(Resource):
    writer: SecretName = Field(
        description="The audit writers' role (MODIFY and SELECT on the audit keyspace); the "
        "only Cassandra login a rendered pod holds."
    )
    reader: SecretName = Field(
        description="The read-only role (SELECT) of gavel audit show|verify and gavel drops "
        "results, for on-call tools; no rendered pod mounts it."
    )


class Cassandra(Resource):
    contact_points: str = Field(min_length=1, description="host:port,... of local nodes.")
    data_center: str | None = Field(
        default=None, description="This region's data centre (default: the Region's name)."
    )
    users: CassandraUsers | None = Field(
        default=None,
        description="Secrets (keys username, password) of each Cassandra role; with them the "
        "audit writers log in as the writer and leave the schema to the admin (gavel audit "
        "migrate). Unset: Cassandra without authentication.",
    )
    ca_secret: CaSecret | None = Field(
        default=None,
        description="A Secret holding the CA that signed the nodes' certificates: the audit "
        "writers then use client encryption and trust only that CA.",
    )


_HOST_PORT = r"[^/,@\s]+:[0-9]{1,5}"
SENTINEL_URL = rf"^redis\+sentinel://{_HOST_PORT}(,{_HOST_PORT})*/[A-Za-z0-9._-]+(/[0-9]{{1,2}})?$"
"""The shape of a Sentinel URL, ``redis+sentinel://HOST:PORT[,HOST:PORT...]/SERVICE[/DB]``:
the same regular expression in Python and in the API server's CEL (RE2, a raw string)."""
_SENTINEL_MESSAGE = "a redis+sentinel URL is redis+sentinel://HOST:PORT[,HOST:PORT...]/SERVICE[/DB]"

RedisUrl = Annotated[
    str,
    Field(pattern=r"^(rediss?|redis\+sentinel)://", max_length=2048),
    Rule(
        f"!self.startsWith('redis+sentinel://') || self.matches(r'{SENTINEL_URL}')",
        _SENTINEL_MESSAGE,
    ),
]


class Endpoints(Resource):
    kafka_bootstrap: str = Field(
        min_length=1, description="This region's Kafka bootstrap servers (host:port,...)."
    )
    redis_url: RedisUrl = Field(
        description="This region's Redis as the operator and other regions' gateways reach "
        "it: drops homed here are decided in it. A single server (redis://host:port/db) or "
        "the primary Sentinels name (redis+sentinel://HOST:PORT[,HOST:PORT...]/SERVICE[/DB]).",
    )
    cassandra: Cassandra = Field(
        description="The audit trail's Cassandra as this region's audit writers reach it."
    )
    redis_auth_secret: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$",
        description="Secret in the region's namespace holding each workload's Redis login, "
        "USER:PASSWORD under the keys gateway, relay, fanout and operator; each workload "
        "gets only its own key (REDIS_AUTH_<ROLE>) and logs in with it to every region's "
        "Redis. Unset: workloads log in with what the URLs carry.",
    )
    redis_ca_secret: CaSecret | None = Field(
        default=None,
        description="A Secret holding the CA that signed the certificates of rediss:// "
        "servers (other regions' Redis reached across the network): the gateway, relay and "
        "fan-out trust only it for those connections (REDIS_CA_FILE).",
    )
    gateway_url: str | None = Field(
        default=None, pattern=r"^https?://", description="Public URL of the bid gateway."
    )
    fanout_url: str | None = Field(
        default=None, pattern=r"^wss?://", description="Public URL of the fan-out (observers)."
    )

    @field_validator("redis_url")
    @classmethod
    def _sentinel_url_shape(cls, url: str) -> str:
        # The CEL rule above, for readers that parse a spec the API server never checked.
        if url.startswith("redis+sentinel://") and not re.match(SENTINEL_URL, url):
            raise ValueError(_SENTINEL_MESSAGE)
        return url


class ConfigMapKeyRef(Resource):
    name: str = Field(min_length=1, pattern=DNS_LABEL, description="ConfigMap name.")
    key: str = Field(
        default="jwks.json", min_length=1, max_length=253, description="Key in the ConfigMap."
    )


class BidderTokens(Resource):
    """Where gateways find the public keys of bidder tokens and which issuer they require.

    Only public keys: the identity provider keeps the signing keys (docs/security.md)."""

    cel = (
        Rule(
            "has(self.jwksUrl) != has(self.jwksConfigMapRef)",
            "set exactly one of bidderTokens.jwksUrl or bidderTokens.jwksConfigMapRef",
        ),
    )

    issuer: str = Field(
        min_length=1, max_length=2048, description="The iss every bidder token must carry."
    )
    jwks_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        max_length=2048,
        description="URL of the identity provider's JWKS, fetched by every gateway pod.",
    )
    jwks_config_map_ref: ConfigMapKeyRef | None = Field(
        default=None,
        description="A ConfigMap in the region's namespace holding the JWKS, mounted into the "
        "gateway pods (the kubelet updates the file in place: rotation needs no restart).",
    )
    refresh_seconds: Int = Field(
        default=300,
        ge=10,
        le=86_400,
        description="How often gateways read the JWKS again: the longest a removed key keeps "
        "admitting tokens.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> BidderTokens:
        # The CEL rule above, for readers that parse a spec the API server never checked.
        if (self.jwks_url is None) == (self.jwks_config_map_ref is None):
            raise ValueError(self.cel[0].message)
        return self


class KafkaUsers(Resource):
    relay: SecretName
    fanout: SecretName
    audit_writer: SecretName
    mirror: SecretName


KafkaCa = CaSecret
"""The brokers' CA (the name spec.kafka.caSecret had first)."""


class KafkaSecurity(Resource):
    users: KafkaUsers = Field(
        description="Secrets (keys username, password) of each workload's SASL/SCRAM-SHA-512 "
        "user; Kafka's ACLs give each user only its workload's rights (docs/security.md)."
    )
    ca_secret: KafkaCa | None = Field(
        default=None,
        description="A Secret holding the CA that signed the brokers' certificates: clients "
        "then use SASL_SSL, without it SASL_PLAINTEXT (only for Kafka on the same host).",
    )


class Capacity(Resource):
    observers_per_fanout_pod: Int = Field(
        ge=1,
        le=10**6,
        description="Observer sockets one fan-out pod holds (its memory and connection cap).",
    )
    deliveries_per_second_per_fanout_pod: Int = Field(
        default=40_000,
        ge=1,
        le=10**8,
        description="Messages per second one fan-out pod writes to observers while staying fresh, "
        "as measured per pod (bench/fanout: deliveries per CPU-second times the pod's CPUs, "
        "below saturation). A drop needs observers x its pricesPerSecond of them.",
    )
    bids_per_second_per_gateway_pod: Int = Field(
        ge=1, le=10**6, description="Bids/s one gateway pod answers within its latency target."
    )


class Baseline(Resource):
    gateway: Int = Field(default=2, ge=1, le=1000, description="Gateway replicas.")
    fanout: Int = Field(default=2, ge=1, le=1000, description="Fan-out replicas.")


REDIS_REPLICAS_MAX = 5


class RedisTopology(Resource):
    cel = (
        Rule(
            "oldSelf.replicas == 0 || self.replicas > 0",
            "redis.replicas cannot go back to 0: the region's Sentinels would keep running "
            "and fail over a server that has no replicas",
        ),
    )

    replicas: Int = Field(
        default=2,
        ge=0,
        le=REDIS_REPLICAS_MAX,
        description="Replicas of the region's Redis primary, watched by three Sentinels that "
        "promote one when the primary fails. 0: a single server without failover. The default, "
        "2, is the smallest count that keeps bidding after losing a node: the promoted replica "
        "still has a replica to acknowledge writes to.",
    )


class Amounts(Resource):
    cpu: Quantity | None = None
    memory: Quantity | None = None


class ContainerResources(Resource):
    requests: Amounts | None = Field(default=None, description="What the scheduler reserves.")
    limits: Amounts | None = Field(default=None, description="The most it may use.")


class Resources(Resource):
    """Per component (the keys are :data:`COMPONENTS`); unset ones keep the operator's
    defaults."""

    gateway: ContainerResources | None = Field(
        default=None, description="Resources of the gateway container."
    )
    outbox_shipper: ContainerResources | None = Field(
        default=None, description="Resources of the outboxShipper container."
    )
    fanout: ContainerResources | None = Field(
        default=None, description="Resources of the fanout container."
    )
    relay: ContainerResources | None = Field(
        default=None, description="Resources of the relay container."
    )
    audit_writer: ContainerResources | None = Field(
        default=None, description="Resources of the auditWriter container."
    )
    redis: ContainerResources | None = Field(
        default=None, description="Resources of the redis container."
    )
    redis_sentinel: ContainerResources | None = Field(
        default=None, description="Resources of the redisSentinel container."
    )
    mirrormaker: ContainerResources | None = Field(
        default=None, description="Resources of the mirrormaker container."
    )

    def of(self, component: str) -> dict[str, dict[str, str]]:
        """What the Region sets for ``component`` (a key of :data:`COMPONENTS`), as
        ``{requests|limits: {cpu|memory: quantity}}``."""
        given = self.model_dump(by_alias=True, exclude_none=True).get(component)
        return dict(given or {})


COMPONENTS: tuple[str, ...] = tuple(
    str(f.alias) for f in Resources.model_fields.values() if f.alias
)
"""Region components whose resources may be set (the keys of spec.resources)."""


class RegionSpec(Resource):
    cluster: ClusterRef = Field(description="How the operator reaches the regional cluster.")
    namespace: str = Field(
        default="gavel",
        pattern=DNS_LABEL,
        description="Namespace for Gavel's workloads in the regional cluster.",
    )
    endpoints: Endpoints = Field(description="Addresses clients and other regions use.")
    kafka: KafkaSecurity | None = Field(
        default=None,
        description="How workloads authenticate to Kafka; unset: Kafka without authentication.",
    )
    capacity: Capacity = Field(description="What one pod handles, for pre-scaling.")
    bidder_tokens: BidderTokens = Field(
        description="The identity provider's public keys and issuer for bidder tokens."
    )
    baseline: Baseline = Field(default_factory=Baseline, description="Replicas outside drops.")
    redis: RedisTopology = Field(
        default_factory=RedisTopology,
        description="The region's Redis: a primary, its replicas and Sentinels.",
    )
    resources: Resources = Field(
        default_factory=Resources,
        description="CPU and memory per component; unset ones keep the operator's defaults.",
    )


class MinReplicas(Resource):
    gateway: Int | None = Field(
        default=None, ge=0, le=10**5, description="Gateway minimum (its HPA's minReplicas)."
    )
    fanout: Int | None = Field(
        default=None, ge=0, le=10**5, description="Fan-out minimum (its HPA's minReplicas)."
    )


class RedisHealth(Resource):
    primary: str | None = Field(
        default=None,
        max_length=300,
        description="host:port of the primary a majority of the region's Sentinels name (the "
        "server itself for a single-server URL).",
    )
    sentinels: str | None = Field(
        default=None,
        max_length=20,
        description="Sentinels that answered over those the URL lists, e.g. 3/3.",
    )
    replicas_wanted: Int | None = Field(
        default=None, ge=0, le=REDIS_REPLICAS_MAX, description="spec.redis.replicas."
    )
    replicas_connected: Int | None = Field(
        default=None, ge=0, le=1000, description="Replicas connected to the primary."
    )
    replicas_in_sync: Int | None = Field(
        default=None,
        ge=0,
        le=1000,
        description="Connected replicas that acknowledged within min-replicas-max-lag: the "
        "ones the primary counts before a write and a bid's WAIT hears from.",
    )


class RegionStatus(Resource):
    reachable: bool | None = Field(default=None, description="The regional API server answered.")
    last_sync: Time | None = Field(
        default=None, description="When the workloads were last applied."
    )
    synced_generation: Int | None = Field(
        default=None, ge=0, le=GENERATION_MAX, description="spec generation last applied."
    )
    min_replicas: MinReplicas | None = Field(
        default=None,
        description="Replica floors applied: the baseline, raised while drops need more.",
    )
    workloads: dict[str, str] | None = Field(
        default=None, description="Ready over wanted replicas per component, e.g. gateway: 6/6."
    )
    redis: RedisHealth | None = Field(
        default=None,
        description="The region's Redis as its Sentinels and primary last described it "
        "(condition RedisReplicated says whether enough replicas are in sync).",
    )
    conditions: Conditions = ()


class Region(Resource):
    """A whole Region object as the API server returns it."""

    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: RegionSpec = Field(description="Where and how Gavel runs in one regional cluster.")
    status: RegionStatus = Field(
        default_factory=RegionStatus, description="What the operator last saw."
    )
