"""Drops timed for the operator's e2e tests, and what the operator did, read back as an admin.

Used by tests/e2e/test_operator_*.py and their conftest on the clusters of
:mod:`tests.support.clusters`: manifests built relative to now, and small reads of the hub
(Drop status, Region conditions, events) and of the regions (records, HPAs, replicas).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tests.support.clusters import DROPS_NS, REGIONS, Clusters

BASELINE = 2
"""Every example Region's floor for gateways and fan-outs (examples/regions.yaml)."""


def stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def drop_manifest(
    name: str, *, starts_at: float, ends_at: float, lead_s: int, cooldown_s: int, **spec: Any
) -> dict[str, Any]:
    """A Drop like examples/drop.yaml, timed relative to now."""
    return {
        "apiVersion": "gavel.dev/v1alpha1",
        "kind": "Drop",
        "metadata": {"name": name, "namespace": DROPS_NS},
        "spec": {
            "product": {"sku": "E2E-1", "title": "An e2e watch"},
            "homeRegion": "us",
            "startsAt": stamp(starts_at),
            "endsAt": stamp(ends_at),
            "auction": {
                "currency": "EUR",
                "startPrice": 1_000,
                "increments": [{"from": 0, "step": 100}],
            },
            "demand": {
                "peakObservers": 200_000,
                "peakBidders": 20_000,
                # One price a second: the sockets, not the deliveries, set the fan-out floors.
                "pricesPerSecond": 1,
                "regionWeights": {"us": 5, "eu": 2, "in": 1, "ap": 1, "sa": 1},
            },
            "preScale": {
                "leadSeconds": lead_s,
                "headroomPercent": 20,
                "cooldownSeconds": cooldown_s,
            },
        }
        | spec,
    }


def new_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def drop_status(clusters: Clusters, name: str) -> dict[str, Any]:
    drop = clusters.get("hub", "drop", name, "-n", DROPS_NS)
    return (drop or {}).get("status") or {}


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in obj.get("conditions", []) if c["type"] == kind), {})


def region_ready(clusters: Clusters, region: str) -> bool:
    status = (clusters.get("hub", "region", region) or {}).get("status", {})
    return condition(status, "Ready").get("status") == "True"


def every_region_ready_and_available(clusters: Clusters) -> bool:
    """Five Regions, each Ready (applied) and Available (every workload's replicas ready)."""
    regions = clusters.get("hub", "regions") or {"items": []}
    return len(regions["items"]) == len(REGIONS) and all(
        condition(r.get("status", {}), kind).get("status") == "True"
        for r in regions["items"]
        for kind in ("Ready", "Available")
    )


def hpa_minimums(clusters: Clusters, region: str) -> dict[str, int] | None:
    hpas = clusters.get(region, "hpa", "-n", "gavel")
    if hpas is None:
        return None
    return {h["metadata"]["name"]: h["spec"]["minReplicas"] for h in hpas["items"]}


def record(clusters: Clusters, region: str, name: str) -> dict[str, Any] | None:
    """The drop's record (ConfigMap) in a regional cluster."""
    return clusters.get(region, "configmap", f"gavel-drop-{name}", "-n", "gavel")


def record_gone(clusters: Clusters, region: str, name: str) -> bool:
    return record(clusters, region, name) is None


def scale_to_baseline(clusters: Clusters, regions: Iterable[str], floor: int = BASELINE) -> None:
    """Scale gateways and fan-outs in ``regions`` down to ``floor``, as their HPAs would once
    the load is gone (minutes later): the operator only ever raises replicas to a floor."""
    for region in regions:
        for deployment in ("gavel-gateway", "gavel-fanout"):
            clusters.kubectl(
                region, "scale", "deployment", deployment, "-n", "gavel", f"--replicas={floor}"
            )


def replicas(clusters: Clusters, region: str, deployment: str) -> int:
    d = clusters.get(region, "deployment", deployment, "-n", "gavel") or {}
    return int(d.get("spec", {}).get("replicas", 0))
