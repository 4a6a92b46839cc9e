"""Reconcile one Region: its workloads applied to its cluster, its replica floors, its status.

Called every tick by the Region timer in :mod:`gavel_operator.handlers`. Level-triggered and
idempotent: it renders what the region should run now (the floors follow the drops being
scaled for, :func:`gavel_operator.scheduling.region_minimums`), applies it when that differs
from what it last applied (or a resync is due), then raises the gateway and fan-out
Deployments to their floors, and asks the region's Redis how it replicates (``status.redis``,
condition ``RedisReplicated``, :mod:`gavel_operator.redis_health`). A restart, a missed tick or
a region that was down all converge the same way. A failure is reported in the status and
retried with backoff, for this region only.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from gavel import endpoints
from gavel.backoff import Backoff
from gavel.redis_acl import Role
from gavel.resources.region import Region, RegionSpec, RegionStatus
from gavel_operator import (
    auctions,
    conditions,
    kube,
    pod_health,
    redis_health,
    rendering,
    retrying,
)
from gavel_operator.clusters import ClusterConfigError
from gavel_operator.conditions import Observed
from gavel_operator.rendering_parts import MANAGER
from gavel_operator.runtime import Runtime
from gavel_operator.scheduling import Capacity, DropPlan, Replicas, region_minimums

Obj = dict[str, Any]
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RegionInfo:
    """A Region resource as the index holds it: parsed once, by the handlers."""

    name: str
    spec: RegionSpec
    status: RegionStatus = field(default_factory=RegionStatus)
    generation: int = 0

    @classmethod
    def of(cls, region: Region) -> RegionInfo:
        meta = region.metadata
        return cls(meta.name, region.spec, region.status, meta.generation)


@dataclass(slots=True)
class RegionMemo:
    """What this process last applied to the region (lost on restart, which only costs one
    re-apply)."""

    digest: str = ""
    applied_at: float = float("-inf")
    retry: retrying.Retry = field(default_factory=retrying.Retry)


def desired(
    region: RegionInfo,
    peers: list[RegionInfo],
    plans: list[DropPlan],
    images: rendering.Images,
    now: float,
) -> tuple[list[Obj], Replicas]:
    """The objects the region should run at ``now`` and their replica floors. Pure."""
    floors = region_minimums(
        region.name,
        sorted(p.name for p in peers),
        Capacity.of(region.spec),
        plans,
        now,
    )
    views = [rendering.RegionView.of(p.name, p.spec) for p in peers]
    view = rendering.RegionView.of(region.name, region.spec, (floors.gateway, floors.fanout))
    return rendering.render_region(view, views, images), floors


def _digest(objects: list[Obj]) -> str:
    return hashlib.sha256(json.dumps(objects, sort_keys=True).encode()).hexdigest()


def availability(workloads: list[Obj]) -> tuple[dict[str, str], list[str]]:
    """Ready over wanted replicas per component (Deployments and StatefulSets), and the ones
    short of it. Pure."""
    summary, short = {}, []
    for w in sorted(workloads, key=lambda o: str(o["metadata"]["name"])):
        component = str(w["metadata"].get("labels", {}).get("app.kubernetes.io/name", "?"))
        wanted = int(w.get("spec", {}).get("replicas", 1))
        ready = int(w.get("status", {}).get("readyReplicas", 0))
        summary[component] = f"{ready}/{wanted}"
        if ready < wanted:
            short.append(f"{component} {ready}/{wanted}")
    return summary, short


def readiness_needs(spec: RegionSpec) -> pod_health.Needs:
    """What each rendered container's readiness waits for, in the Region's own addresses: named
    in ``PodsHealthy`` when a container never becomes ready. Pure."""
    kafka = f"Kafka at {spec.endpoints.kafka_bootstrap} (spec.endpoints.kafkaBootstrap)"
    redis = f"the region's Redis (Service gavel-redis in namespace {spec.namespace})"
    cassandra = (
        f"Cassandra at {spec.endpoints.cassandra.contact_points} "
        "(spec.endpoints.cassandra.contactPoints)"
    )
    return {
        "gateway": redis,
        "relay": f"{redis} and {kafka}",
        "fanout": kafka,
        "audit-writer": f"{kafka} and {cassandra}",
    }


@dataclass(frozen=True, slots=True)
class Found:
    """Gavel's workloads (Deployments, StatefulSets) and their pods, as listed in the region."""

    workloads: list[Obj]
    pods: list[Obj]


def observe(k: kube.Kube, namespace: str) -> Found:
    """Gavel's workloads and pods in the region's namespace: one list request per kind, which
    doubles as the check that the region answers."""
    selector = [("labelSelector", f"app.kubernetes.io/managed-by={MANAGER}")]
    lists: dict[str, list[Obj]] = {}
    for prefix, plural in (
        ("/apis/apps/v1", "deployments"),
        ("/apis/apps/v1", "statefulsets"),
        ("/api/v1", "pods"),
    ):
        listed = k.request("GET", f"{prefix}/namespaces/{namespace}/{plural}", query=selector)
        lists[plural] = listed.get("items", [])
    return Found([*lists["deployments"], *lists["statefulsets"]], lists["pods"])


def available_patch(region: RegionInfo, found: Found, now: float) -> Obj:
    """The status patch of what ``found`` tells: ready replicas per workload, and the
    ``Available`` and ``PodsHealthy`` conditions. Pure."""
    summary, short = availability(found.workloads)
    message = "short: " + ", ".join(short) if short else "every workload has its ready replicas"
    pods = pod_health.assess(found.pods, now, needs=readiness_needs(region.spec))
    return {
        "workloads": summary,
        "conditions": conditions.merge(
            region.status.conditions,
            [Observed("Available", not short and bool(summary), "Replicas", message), pods],
            now,
            region.generation,
        ),
    }


async def _with_redis(region: RegionInfo, rt: Runtime, patch: Obj, now: float) -> Obj:
    """``patch`` plus the region's Redis: its status and the ``RedisReplicated`` condition."""
    url = endpoints.login(region.spec.endpoints.redis_url, Role.OPERATOR)
    replication = await auctions.replication(url, rt.redis.get(url))
    status, observed = redis_health.assess(replication, region.spec.redis.replicas)
    before = patch.get("conditions", region.status.conditions)
    return patch | {
        "redis": status,
        "conditions": conditions.merge(before, [observed], now, region.generation),
    }


def _apply(k: kube.Kube, objects: list[Obj], floors: Replicas) -> None:
    # The namespace first: everything else lives in it.
    for obj in objects:
        k.apply(obj, MANAGER)
    namespace = objects[0]["metadata"]["name"]
    for component, floor in zip(rendering.SCALED, (floors.gateway, floors.fanout), strict=True):
        k.raise_replicas(namespace, f"gavel-{component}", floor)


async def reconcile(
    region: RegionInfo,
    *,
    peers: list[RegionInfo],
    plans: list[DropPlan],
    rt: Runtime,
    memo: RegionMemo,
    now: float,
) -> Obj | None:
    """Bring the region in line; returns a status patch, or None when nothing changed."""
    objects, floors = desired(region, peers, plans, rt.settings.images, now)
    digest = _digest(objects)
    if not memo.retry.due(now):
        return None
    fresh = memo.digest == digest and now - memo.applied_at < rt.settings.resync_s
    try:
        k = await rt.blocking(rt.clusters.for_region, region.name, region.spec.cluster)
        namespace = objects[0]["metadata"]["name"]
        if fresh:
            # Nothing to apply; still look at the workloads, which also tells within a tick
            # that a stopped API server no longer answers.
            found = await rt.blocking(observe, k, namespace)
            return await _with_redis(region, rt, available_patch(region, found, now), now)
        await rt.blocking(_apply, k, objects, floors)
        found = await rt.blocking(observe, k, namespace)
    except kube.Unreachable as exc:
        rt.clusters.forget(region.name)
        return _failed(region, rt, memo, now, "Unreachable", str(exc), reachable=False)
    except ClusterConfigError as exc:
        return _failed(
            region,
            rt,
            memo,
            now,
            "KubeconfigInvalid",
            str(exc),
            reachable=False,
            backoff=retrying.CONFIGURATION,
        )
    except kube.KubeError as exc:
        if exc.refused:
            rt.clusters.forget(region.name)
            return _failed(
                region,
                rt,
                memo,
                now,
                "Forbidden",
                str(exc),
                reachable=True,
                backoff=retrying.REFUSED,
            )
        backoff = retrying.TRANSIENT if exc.retryable else retrying.CONFIGURATION
        reason = "ApplyFailed" if exc.retryable else "ApplyRejected"
        return _failed(region, rt, memo, now, reason, str(exc), reachable=True, backoff=backoff)
    memo.digest, memo.applied_at = digest, now
    memo.retry.succeeded()
    detail = (
        f"{len(objects)} objects applied; floors gateway {floors.gateway}, fanout {floors.fanout}"
    )
    log.info("region %s: %s", region.name, detail)
    m = rt.metrics
    m.applies.labels(region.name, "applied").inc()
    m.region_reachable.labels(region.name).set(1)
    m.region_floor.labels(region.name, "gateway").set(floors.gateway)
    m.region_floor.labels(region.name, "fanout").set(floors.fanout)
    available = available_patch(region, found, now)
    patch = {
        "reachable": True,
        "lastSync": conditions.stamp(now),
        "syncedGeneration": region.generation,
        "minReplicas": {"gateway": floors.gateway, "fanout": floors.fanout},
        "workloads": available["workloads"],
        "conditions": conditions.merge(
            available["conditions"],
            [
                Observed("Ready", True, "Synced", detail),
                Observed("Degraded", False, "Synced"),
            ],
            now,
            region.generation,
        ),
    }
    return await _with_redis(region, rt, patch, now)


def _failed(  # noqa: PLR0917 - one call per failure kind
    region: RegionInfo,
    rt: Runtime,
    memo: RegionMemo,
    now: float,
    reason: str,
    message: str,
    *,
    reachable: bool,
    backoff: Backoff = retrying.TRANSIENT,
) -> Obj:
    delay = memo.retry.failed(now, message, backoff)
    rt.metrics.applies.labels(region.name, reason).inc()
    rt.metrics.region_reachable.labels(region.name).set(int(reachable))
    memo.digest = ""  # whatever was applied before, check it all again once it answers
    log.warning("region %s: %s: %s; next attempt in %.0fs", region.name, reason, message, delay)
    message = f"{message} (next attempt in {delay:.0f}s, attempt {memo.retry.failures})"
    return {
        "reachable": reachable,
        "conditions": conditions.merge(
            region.status.conditions,
            [
                Observed("Ready", False, reason, message),
                Observed("Degraded", True, reason, message),
            ],
            now,
            region.generation,
        ),
    }


def reachability_event(before: RegionStatus, after: Obj | None) -> tuple[str, str, str] | None:
    """(type, reason, message) of the event for a region that stopped or started answering."""
    if after is None or "reachable" not in after or after["reachable"] == before.reachable:
        return None
    ready: Obj = next((c for c in after.get("conditions", []) if c["type"] == "Ready"), {})
    if after["reachable"]:
        return "Normal", "Reachable", ready.get("message", "")
    return "Warning", ready.get("reason", "Unreachable"), ready.get("message", "")


def pods_event(before: RegionStatus, after: Obj | None) -> tuple[str, str, str] | None:
    """(type, reason, message) of the event for a change of ``PodsHealthy``: a new problem
    of the region's pods (a Warning), or all of them healthy again."""
    if after is None:
        return None
    # A merge with nothing observed: the stored conditions as plain dicts.
    old = conditions.merge(before.conditions, [], 0.0, 0)
    return pod_health.event(old, after.get("conditions", []))
