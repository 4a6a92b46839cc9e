"""Regions and ports of one local stack: pure functions, no I/O.

A stack owns one block of :data:`BLOCK_SIZE` consecutive ports between :data:`FIRST_PORT` and
:data:`LAST_PORT`. That range sits above the well-known ports (6379, 9092, 9042, 2379, 6443...)
and below Linux's ephemeral range (32768+), so neither a system service nor an outgoing
connection can hold one of our ports. Each port has a fixed offset inside the block, so a stack's
ports follow from its block number alone.
"""

from __future__ import annotations

from dataclasses import dataclass

REGION_NAMES: tuple[str, ...] = ("us", "eu", "in", "ap", "sa")
"""Local region names in start order; ``--regions N`` takes the first N."""

MAX_REGIONS = len(REGION_NAMES)
FIRST_PORT = 21000
BLOCK_SIZE = 75
BLOCKS = 153  # 21000 + 153 * 75 = 32475, just below the ephemeral range.
LAST_PORT = FIRST_PORT + BLOCK_SIZE * BLOCKS - 1

HUB = "hub"
"""Name of the hub Kubernetes cluster (where the operator runs); regions have their own."""

REDIS_REPLICAS = 2
"""Replicas per region besides the primary. Two, not one: primaries refuse writes without a
replica (``gavel.redis_replication``), so with one replica the promoted node could not accept a
bid until the dead one came back; with two, losing any one node leaves a primary and a replica."""

SENTINELS = 3
"""Sentinels per region: the smallest number in which two can agree while one is down."""

# Offsets inside a block. Shared: 0-9. Region i: 10 + 13 * i + k.
_CASSANDRA_NATIVE, _CASSANDRA_STORAGE, _CASSANDRA_JMX = 0, 1, 2
_HUB_ETCD_CLIENT, _HUB_ETCD_PEER, _HUB_APISERVER = 3, 4, 5
_KAFKA_PODS = (6, 7, 8, 9)
"""The shared offsets left, one per region for the first four: each Kafka's listener for pods
on real nodes (advertised at the node's host address). The fifth region has none."""
_REGION_BASE = 10
_REDIS, _KAFKA, _KAFKA_CONTROLLER, _ETCD_CLIENT, _ETCD_PEER, _APISERVER, _SCHEDULER, _KWOK = range(
    8
)
_REPLICAS = 8
_SENTINELS = _REPLICAS + REDIS_REPLICAS
_REGION_STRIDE = _SENTINELS + SENTINELS


@dataclass(frozen=True, slots=True)
class ClusterPorts:
    """One Kubernetes control plane: etcd and its API server."""

    etcd_client: int
    etcd_peer: int
    apiserver: int


@dataclass(frozen=True, slots=True)
class RegionPorts:
    """Everything one region listens on."""

    redis: int
    kafka: int
    kafka_controller: int
    k8s: ClusterPorts
    scheduler: int
    """kube-scheduler's health port (the ``nodes`` component)."""
    kwok: int
    """KWOK's health port (the ``nodes`` component)."""
    redis_replicas: tuple[int, ...]
    """The Redis replicas (started as replicas of ``redis``; any node may be primary later)."""
    sentinels: tuple[int, ...]
    kafka_pods: int | None = None
    """Kafka's listener for pods on the region's real node (None: the fifth region has no
    port left in the block)."""


@dataclass(frozen=True, slots=True)
class StackPorts:
    """Every port of one stack, derived from its block number."""

    block: int
    cassandra_native: int
    cassandra_storage: int
    cassandra_jmx: int
    hub: ClusterPorts
    regions: dict[str, RegionPorts]

    def all_ports(self) -> list[int]:
        """Every port the stack may bind, for checking a block is free."""
        ports = [self.cassandra_native, self.cassandra_storage, self.cassandra_jmx]
        ports += [self.hub.etcd_client, self.hub.etcd_peer, self.hub.apiserver]
        for r in self.regions.values():
            ports += [r.redis, r.kafka, r.kafka_controller]
            ports += [r.k8s.etcd_client, r.k8s.etcd_peer, r.k8s.apiserver, r.scheduler, r.kwok]
            ports += [*r.redis_replicas, *r.sentinels]
            ports += [r.kafka_pods] if r.kafka_pods is not None else []
        return ports


def regions_for(count: int) -> tuple[str, ...]:
    """The first ``count`` region names; raises ValueError outside 1..MAX_REGIONS."""
    if not 1 <= count <= MAX_REGIONS:
        raise ValueError(f"--regions must be between 1 and {MAX_REGIONS}, got {count}")
    return REGION_NAMES[:count]


def ports_for_block(block: int) -> StackPorts:
    """The ports of block ``block``; every region gets ports so a stack can grow in place."""
    if not 0 <= block < BLOCKS:
        raise ValueError(f"port block {block} outside 0..{BLOCKS - 1}")
    base = FIRST_PORT + block * BLOCK_SIZE

    def region(i: int) -> RegionPorts:
        r = base + _REGION_BASE + _REGION_STRIDE * i
        return RegionPorts(
            redis=r + _REDIS,
            kafka=r + _KAFKA,
            kafka_controller=r + _KAFKA_CONTROLLER,
            k8s=ClusterPorts(r + _ETCD_CLIENT, r + _ETCD_PEER, r + _APISERVER),
            scheduler=r + _SCHEDULER,
            kwok=r + _KWOK,
            redis_replicas=tuple(r + _REPLICAS + k for k in range(REDIS_REPLICAS)),
            sentinels=tuple(r + _SENTINELS + k for k in range(SENTINELS)),
            kafka_pods=base + _KAFKA_PODS[i] if i < len(_KAFKA_PODS) else None,
        )

    return StackPorts(
        block=block,
        cassandra_native=base + _CASSANDRA_NATIVE,
        cassandra_storage=base + _CASSANDRA_STORAGE,
        cassandra_jmx=base + _CASSANDRA_JMX,
        hub=ClusterPorts(base + _HUB_ETCD_CLIENT, base + _HUB_ETCD_PEER, base + _HUB_APISERVER),
        regions={name: region(i) for i, name in enumerate(REGION_NAMES)},
    )


def block_ports(block: int) -> tuple[int, int]:
    """The first and last port of block ``block``."""
    if not 0 <= block < BLOCKS:
        raise ValueError(f"port block {block} outside 0..{BLOCKS - 1}")
    first = FIRST_PORT + block * BLOCK_SIZE
    return first, first + BLOCK_SIZE - 1


def preferred_block(key: str) -> int:
    """A stable starting block for a run folder, so one clone tends to keep its ports."""
    h = 0
    for ch in key.encode():
        h = (h * 131 + ch) % 1_000_003
    return h % BLOCKS


def env_key(region: str) -> str:
    """Suffix used in ``scripts/stack env`` variable names (``REDIS_URL_US``)."""
    return region.upper()
