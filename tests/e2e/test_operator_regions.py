"""The operator and its Regions: workloads in every region, a restart that converges, and a
deleted Region that keeps its workloads.

Every check polls the real clusters (kubectl as the admin); nothing sleeps a fixed time. A
check that something did not happen watches for :attr:`Operator.settle_s` (three reconcile
ticks) after the operator has visibly reacted.
"""

from __future__ import annotations

import json
import signal
import time

from gavel_devstack.harness import redis_nodes
from gavel_devstack.harness.waiting import holds, poll
from tests.support.clusters import DROPS_NS, REGIONS, Clusters, Operator, example_regions
from tests.support.operator_checks import (
    BASELINE,
    condition,
    drop_manifest,
    drop_status,
    every_region_ready_and_available,
    hpa_minimums,
    new_name,
    region_ready,
    replicas,
    scale_to_baseline,
)


def test_every_region_gets_its_workloads(world: tuple[Clusters, Operator]) -> None:
    clusters, operator = world
    # Available: every workload has its ready replicas (pods on the regions' KWOK nodes).
    poll(
        lambda: every_region_ready_and_available(clusters),
        timeout_s=90,
        what=f"five Ready and Available regions; operator log:\n{operator.log_tail()}",
    )
    for region in REGIONS:
        objects = clusters.get(
            region, "deploy,sts,svc,hpa,pdb,cm", "-n", "gavel", "--show-managed-fields"
        )
        assert objects is not None
        names = {f"{o['kind']}/{o['metadata']['name']}" for o in objects["items"]}
        assert {
            "StatefulSet/gavel-redis",
            "Service/gavel-redis",
            "PodDisruptionBudget/gavel-redis",
            "ConfigMap/gavel-redis-scripts",
            "StatefulSet/gavel-redis-sentinel",
            "Service/gavel-redis-sentinel",
            "PodDisruptionBudget/gavel-redis-sentinel",
            "ConfigMap/gavel-mirrormaker",
            "Deployment/gavel-mirrormaker",
            "Deployment/gavel-gateway",
            "HorizontalPodAutoscaler/gavel-gateway",
            "PodDisruptionBudget/gavel-gateway",
            "Deployment/gavel-fanout",
            "Service/gavel-fanout",
            "Deployment/gavel-relay",
            "Deployment/gavel-audit-writer",
        } <= names, region
        assert f'gavel_operator_region_reachable{{region="{region}"}} 1.0' in operator.metrics()
        gateway = next(o for o in objects["items"] if o["metadata"]["name"] == "gavel-gateway")
        managers = {f["manager"] for f in gateway["metadata"]["managedFields"]}
        assert "gavel-operator" in managers
        assert replicas(clusters, region, "gavel-gateway") == BASELINE
        # A primary with two replicas (the default) and three Sentinels, every pod running on
        # its own node (required anti-affinity; four KWOK nodes per region).
        status = (clusters.get("hub", "region", region) or {})["status"]
        assert (status["workloads"]["redis"], status["workloads"]["redis-sentinel"]) == (
            "3/3",
            "3/3",
        )
        for component in ("redis", "redis-sentinel"):
            pods = clusters.get(
                region, "pods", "-n", "gavel", "-l", f"app.kubernetes.io/name={component}"
            )
            assert pods is not None
            nodes = {p["spec"]["nodeName"] for p in pods["items"]}
            assert len(nodes) == 3, (component, nodes)


def test_every_region_shows_its_redis_primary_and_replication(
    world: tuple[Clusters, Operator],
) -> None:
    """Each Region's status names the primary its Sentinels name (the stack's real Redis the
    Regions point at) and counts both replicas in sync, with RedisReplicated true."""
    clusters, operator = world

    def shown(region: str) -> bool:
        status = (clusters.get("hub", "region", region) or {}).get("status", {})
        port = redis_nodes.primary_port(clusters.redis_url(region))
        return (
            status.get("redis", {})
            == {
                "primary": f"127.0.0.1:{port}",
                "sentinels": "3/3",
                "replicasWanted": 2,
                "replicasConnected": 2,
                "replicasInSync": 2,
            }
            and condition(status, "RedisReplicated").get("status") == "True"
        )

    for region in REGIONS:
        poll(
            lambda region=region: shown(region),  # type: ignore[misc]
            timeout_s=60,
            what=f"{region}'s Redis in its status; log:\n{operator.log_tail()}",
        )


def _baseline_patch(gateway: int) -> str:
    return json.dumps({"spec": {"baseline": {"gateway": gateway}}})


def test_a_restarted_operator_converges(world: tuple[Clusters, Operator]) -> None:
    clusters, operator = world
    before = (clusters.get("hub", "region", "eu") or {})["spec"]["baseline"]["gateway"]
    operator.stop(signal.SIGKILL)
    # While it is down, someone raises eu's baseline.
    clusters.kubectl("hub", "patch", "region", "eu", "--type=merge", "-p", _baseline_patch(3))
    try:
        operator.start()

        def converged() -> bool:
            # The status is written after the objects are applied (the same tick or the next
            # one), so it is waited for too, not read right after the HPA changed.
            region = clusters.get("hub", "region", "eu") or {}
            status = region.get("status", {})
            return (
                (hpa_minimums(clusters, "eu") or {}).get("gavel-gateway") == 3
                and replicas(clusters, "eu", "gavel-gateway") >= 3
                and status.get("minReplicas", {}).get("gateway") == 3
                and status.get("syncedGeneration") == region["metadata"]["generation"]
            )

        poll(
            converged, timeout_s=60, what=f"eu's new baseline applied; log:\n{operator.log_tail()}"
        )
    finally:  # the world as the other tests expect it
        if operator.proc is None:
            operator.start()
        clusters.kubectl(
            "hub", "patch", "region", "eu", "--type=merge", "-p", _baseline_patch(before)
        )
        poll(
            lambda: (hpa_minimums(clusters, "eu") or {}).get("gavel-gateway") == before,
            timeout_s=60,
            what="eu's baseline back",
        )
        scale_to_baseline(clusters, ["eu"], before)


def test_deleting_a_region_keeps_its_workloads_and_drops_say_so(
    world: tuple[Clusters, Operator],
) -> None:
    clusters, operator = world
    now = time.time()
    name = new_name("lone")
    listed = drop_manifest(
        name,
        starts_at=now + 3600,
        ends_at=now + 7200,
        lead_s=60,
        cooldown_s=5,
        regions=list(REGIONS),
    )
    clusters.apply("hub", [listed])
    poll(
        lambda: drop_status(clusters, name).get("regionsReady") == "5/5",
        timeout_s=30,
        what="the drop in all five regions",
    )
    clusters.kubectl("hub", "delete", "region", "sa", "--timeout=30s")
    try:

        def sa_missing() -> bool:
            status = drop_status(clusters, name)
            sa = (status.get("regions") or {}).get("sa", {})
            return sa.get("message") == "no such Region" and status.get("regionsReady") == "4/5"

        # A Drop that lists sa says it is missing (one that runs "everywhere" just has four now).
        poll(sa_missing, timeout_s=30, what="the Drop to report that Region sa is gone")
        # A mistaken delete must not wipe a live region: its workloads stay where they are.
        # The operator has seen the Region go (above); watch a few more ticks for a late wipe.
        holds(
            lambda: clusters.get("sa", "deployment", "gavel-gateway", "-n", "gavel") is not None,
            for_s=operator.settle_s,
            what="the gateway Deployment of the deleted Region sa is still there",
        )
        clusters.kubectl("hub", "delete", "drop", name, "-n", DROPS_NS, "--timeout=60s")
    finally:  # the world as the other tests expect it
        sa = [r for r in example_regions(clusters) if r["metadata"]["name"] == "sa"]
        clusters.apply("hub", sa)
        poll(lambda: region_ready(clusters, "sa"), timeout_s=60, what="Region sa back")
