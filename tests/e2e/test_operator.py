"""The operator across a hub and five regional API servers, with its shipped RBAC.

Every check polls the real clusters (kubectl as the admin) and Redis; nothing sleeps a fixed
time. The tests share one operator and one set of clusters, and each makes its own Drops.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from gavel import bidding, keys
from gavel.auction import Outcome
from tests.conftest import Stack
from tests.support.clusters import (
    DROPS_NS,
    REGIONS,
    Clusters,
    Operator,
    example_regions,
    run_stack,
    set_up,
    start_clusters,
)
from tests.support.relay import UNLIMITED, relay_settings, running_relay
from tests.support.waiting import poll

BASELINE = 2


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Clusters, Operator]]:
    work = tmp_path_factory.mktemp("operator-e2e")
    clusters = start_clusters(work / "stack")
    operator = Operator(set_up(clusters, work), work / "operator.log")
    clusters.apply("hub", example_regions(clusters))
    operator.start()
    try:
        yield clusters, operator
    finally:
        operator.stop()
        run_stack(work / "stack", "down", "--purge")


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


def replicas(clusters: Clusters, region: str, deployment: str) -> int:
    d = clusters.get(region, "deployment", deployment, "-n", "gavel") or {}
    return int(d.get("spec", {}).get("replicas", 0))


def test_every_region_gets_its_workloads(world: tuple[Clusters, Operator]) -> None:
    clusters, operator = world

    def all_ready() -> bool:
        regions = clusters.get("hub", "regions") or {"items": []}
        return len(regions["items"]) == len(REGIONS) and all(
            condition(r.get("status", {}), kind).get("status") == "True"
            for r in regions["items"]
            for kind in ("Ready", "Available")
        )

    # Available: every workload has its ready replicas (pods on the regions' KWOK nodes).
    poll(
        all_ready,
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


def test_invalid_drops_are_refused_with_the_cel_message(world: tuple[Clusters, Operator]) -> None:
    clusters, _ = world
    now = time.time()
    backwards = drop_manifest(
        new_name("bad"), starts_at=now + 60, ends_at=now + 30, lead_s=10, cooldown_s=5
    )
    proc = clusters.kubectl("hub", "apply", "-f", "-", stdin=_yaml(backwards), check=False)
    assert proc.returncode != 0
    assert "endsAt must be after startsAt" in proc.stderr
    elsewhere = drop_manifest(
        new_name("bad"),
        starts_at=now + 60,
        ends_at=now + 90,
        lead_s=10,
        cooldown_s=5,
        regions=["eu", "in"],
    )
    proc = clusters.kubectl("hub", "apply", "-f", "-", stdin=_yaml(elsewhere), check=False)
    assert "homeRegion must be one of regions" in proc.stderr


def _yaml(obj: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(obj)


# us has half the weight, eu a fifth, the rest a tenth each: 200k observers and 20k bids/s with
# 20% headroom over the example Regions' 20k observers and 2k bids/s per pod.
EXPECTED = {"us": 6, "eu": 3, "in": 2, "ap": 2, "sa": 2}


async def test_a_drop_prescales_goes_live_closes_and_returns_to_baseline(
    world: tuple[Clusters, Operator], stack: Stack
) -> None:
    clusters, operator = world
    name = new_name("drop")
    lead_s, cooldown_s = 6, 4
    starts_at = float(int(time.time()) + lead_s + 8)
    ends_at = starts_at + 10
    clusters.apply(
        "hub",
        [
            drop_manifest(
                name, starts_at=starts_at, ends_at=ends_at, lead_s=lead_s, cooldown_s=cooldown_s
            )
        ],
    )

    def phase() -> str:
        return str(drop_status(clusters, name).get("phase", ""))

    def scheduled_everywhere() -> bool:
        status = drop_status(clusters, name)
        return status.get("phase") == "Scheduled" and status.get("regionsReady") == "5/5"

    await asyncio.to_thread(poll, scheduled_everywhere, timeout_s=30, what="Scheduled, 5/5")
    for region in REGIONS:  # the drop's record and rules in every region
        assert record(clusters, region, name) is not None
        redis = Redis.from_url(clusters.redis_url(region))
        assert await redis.hget(keys.for_drop(name).rules, "home_region") == b"us"
        await redis.aclose()

    def raised() -> bool:
        return all(
            hpa_minimums(clusters, r) == {"gavel-gateway": EXPECTED[r], "gavel-fanout": EXPECTED[r]}
            and replicas(clusters, r, "gavel-gateway") >= EXPECTED[r]
            and replicas(clusters, r, "gavel-fanout") >= EXPECTED[r]
            for r in REGIONS
        )

    await asyncio.to_thread(poll, lambda: phase() == "PreScaling", timeout_s=30, what="PreScaling")
    await asyncio.to_thread(poll, raised, timeout_s=30, what="replicas raised as computed")

    def running_in_us() -> bool:
        pods = clusters.get(
            "us",
            "pods",
            "-n",
            "gavel",
            "-l",
            "app.kubernetes.io/name=gateway",
            "--field-selector",
            "status.phase=Running",
        )
        return len((pods or {"items": []})["items"]) == EXPECTED["us"]

    await asyncio.to_thread(poll, running_in_us, timeout_s=30, what="six gateway pods running")
    assert time.time() < starts_at, "capacity must be there before the drop opens"
    status = drop_status(clusters, name)
    assert {r: s["gatewayReplicas"] for r, s in status["regions"].items()} == EXPECTED

    await asyncio.to_thread(poll, lambda: phase() == "Live", timeout_s=30, what="Live")
    home = Redis.from_url(clusters.redis_url("us"))
    result = await bidding.place_bid(
        home,
        name,
        "bidder-1",
        "b-1",
        5_000,
        event_id=uuid.uuid4().hex,
        received_ms=int(time.time() * 1000),
        region="us",
        limit=UNLIMITED,
    )
    await home.aclose()
    assert result.outcome is Outcome.ACCEPTED, result
    await asyncio.to_thread(
        poll,
        lambda: drop_status(clusters, name).get("highBid") == 5_000,
        timeout_s=20,
        what="the high bid in the Drop's status",
    )

    await asyncio.to_thread(poll, lambda: phase() == "Closed", timeout_s=40, what="Closed")
    closed = await asyncio.to_thread(
        poll,
        lambda: (s := drop_status(clusters, name)).get("winnerAlias") and s,
        timeout_s=10,
        what="the winner",
    )
    assert closed["bids"] == 1
    assert closed["reserveMet"] is True

    def history() -> list[str]:
        events = clusters.get(
            "hub", "events", "-n", DROPS_NS, "--field-selector", f"involvedObject.name={name}"
        )
        return [e["reason"] for e in (events or {"items": []})["items"]]

    await asyncio.to_thread(
        poll,
        lambda: {"PreScaling", "Live", "Closed"} <= set(history()),
        timeout_s=20,
        what="the drop's phases as events (kubectl describe drop)",
    )

    def baseline() -> bool:
        return all(
            hpa_minimums(clusters, r) == {"gavel-gateway": BASELINE, "gavel-fanout": BASELINE}
            for r in REGIONS
        )

    await asyncio.to_thread(poll, baseline, timeout_s=40, what="HPA minimums back to baseline")
    assert time.time() >= ends_at + cooldown_s

    await _delete_once_relayed(clusters, operator, stack, name)


async def _delete_once_relayed(
    clusters: Clusters, operator: Operator, stack: Stack, name: str
) -> None:
    """Deleting waits until the relay has taken the drop's outcomes to Kafka, then cleans every
    region. The relay here is the real one, draining into the session stack's Kafka."""
    home = Redis.from_url(clusters.redis_url("us"))
    clusters.kubectl("hub", "delete", "drop", name, "-n", DROPS_NS, "--wait=false")
    await asyncio.to_thread(
        poll,
        lambda: "not yet relayed" in operator.log.read_text(),
        timeout_s=30,
        what="the finalizer to wait for the relay",
    )
    assert clusters.get("hub", "drop", name, "-n", DROPS_NS) is not None
    settings = relay_settings(clusters.redis_url("us"), stack.kafka("us"))
    async with running_relay(settings):
        await asyncio.to_thread(
            poll,
            lambda: clusters.get("hub", "drop", name, "-n", DROPS_NS) is None,
            timeout_s=60,
            what="the Drop to be deleted",
        )
        for region in REGIONS:
            assert record_gone(clusters, region, name)
            redis = Redis.from_url(clusters.redis_url(region))
            assert not await redis.exists(keys.for_drop(name).rules)
            await redis.aclose()
        # The running relay saw the stream vanish and did not bring it back.
        drop_keys = keys.for_drop(name)
        assert not await home.exists(drop_keys.state, drop_keys.events, drop_keys.bids)
    await home.aclose()


def test_a_stopped_region_is_degraded_and_catches_up(world: tuple[Clusters, Operator]) -> None:
    clusters, operator = world
    clusters.stop_apiserver("ap")
    try:

        def ap_degraded() -> bool:
            ap = clusters.get("hub", "region", "ap") or {}
            status = ap.get("status", {})
            return status.get("reachable") is False and (
                condition(status, "Degraded").get("status") == "True"
            )

        poll(ap_degraded, timeout_s=30, what="Region ap marked unreachable")

        def warned() -> bool:
            events = clusters.get(
                "hub", "events", "-n", "default", "--field-selector", "involvedObject.name=ap"
            )
            return any(
                e["type"] == "Warning" and e["reason"] == "Unreachable"
                for e in (events or {"items": []})["items"]
            )

        poll(warned, timeout_s=20, what="a Warning event on Region ap")
        assert 'gavel_operator_region_reachable{region="ap"} 0.0' in operator.metrics()
        now = time.time()
        name = new_name("far")
        clusters.apply(
            "hub",
            [
                drop_manifest(
                    name, starts_at=now + 3600, ends_at=now + 7200, lead_s=60, cooldown_s=5
                )
            ],
        )
        # The four others converge; the Drop names the one that does not.
        for region in ("us", "eu", "in", "sa"):
            poll(
                partial(record, clusters, region, name),
                timeout_s=30,
                what=f"the drop's record in {region}",
            )

        def drop_degraded_by_ap() -> bool:
            status = drop_status(clusters, name)
            degraded = condition(status, "Degraded")
            return (
                degraded.get("status") == "True"
                and "ap:" in degraded.get("message", "")
                and status.get("regionsReady") == "4/5"
            )

        poll(drop_degraded_by_ap, timeout_s=30, what="the Drop degraded by ap")
    finally:
        clusters.restart_stopped()

    poll(
        lambda: (
            condition((clusters.get("hub", "region", "ap") or {}).get("status", {}), "Ready").get(
                "status"
            )
            == "True"
        ),
        timeout_s=90,
        what=f"Region ap Ready again; log:\n{operator.log_tail()}",
    )
    poll(
        partial(record, clusters, "ap", name),
        timeout_s=90,
        what="the drop's record in ap after it came back",
    )
    poll(
        lambda: drop_status(clusters, name).get("regionsReady") == "5/5",
        timeout_s=30,
        what="all five regions ready",
    )
    clusters.kubectl("hub", "delete", "drop", name, "-n", DROPS_NS, "--timeout=60s")
    for region in REGIONS:
        assert record_gone(clusters, region, name)


def test_a_region_gone_for_good_can_be_abandoned(world: tuple[Clusters, Operator]) -> None:
    clusters, _ = world
    now = time.time()
    name = new_name("gone")
    clusters.apply(
        "hub",
        [drop_manifest(name, starts_at=now + 3600, ends_at=now + 7200, lead_s=60, cooldown_s=5)],
    )
    poll(
        lambda: drop_status(clusters, name).get("regionsReady") == "5/5",
        timeout_s=30,
        what="the drop in all five regions",
    )
    clusters.stop_apiserver("sa")
    try:
        clusters.kubectl("hub", "delete", "drop", name, "-n", DROPS_NS, "--wait=false")
        for region in ("us", "eu", "in", "ap"):
            poll(
                partial(record_gone, clusters, region, name),
                timeout_s=30,
                what=f"clean-up in {region}",
            )

        # sa cannot be cleaned: the Drop waits for it, and says so...
        def waiting_for_sa() -> bool:
            cleaned = condition(drop_status(clusters, name), "CleanedUp")
            return cleaned.get("status") == "False" and cleaned["message"].startswith("sa ")

        poll(waiting_for_sa, timeout_s=30, what="the Drop to say it waits for sa")
        # ...until someone declares it gone for good.
        clusters.kubectl(
            "hub", "annotate", "drop", name, "-n", DROPS_NS, "gavel.dev/abandon-regions=sa"
        )
        poll(
            lambda: clusters.get("hub", "drop", name, "-n", DROPS_NS) is None,
            timeout_s=60,
            what="the Drop to be deleted without sa",
        )
    finally:
        clusters.restart_stopped()


def test_a_restarted_operator_converges(world: tuple[Clusters, Operator], tmp_path: Path) -> None:
    clusters, operator = world
    operator.stop(signal.SIGKILL)
    # While it is down, someone raises eu's baseline.
    clusters.kubectl(
        "hub", "patch", "region", "eu", "--type=merge", "-p", '{"spec":{"baseline":{"gateway":3}}}'
    )
    operator.start()
    poll(
        lambda: (
            (hpa_minimums(clusters, "eu") or {}).get("gavel-gateway") == 3
            and replicas(clusters, "eu", "gavel-gateway") >= 3
        ),
        timeout_s=60,
        what=f"eu's new baseline applied; log:\n{operator.log_tail()}",
    )
    status = (clusters.get("hub", "region", "eu") or {})["status"]
    assert status["minReplicas"]["gateway"] == 3
    assert (
        status["syncedGeneration"]
        == (clusters.get("hub", "region", "eu") or {})["metadata"]["generation"]
    )


def test_deleting_a_region_keeps_its_workloads_and_drops_say_so(
    world: tuple[Clusters, Operator],
) -> None:
    clusters, _ = world
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
    # A mistaken delete must not wipe a live region: its workloads stay where they are.
    assert clusters.get("sa", "deployment", "gavel-gateway", "-n", "gavel") is not None

    def sa_missing() -> bool:
        status = drop_status(clusters, name)
        sa = (status.get("regions") or {}).get("sa", {})
        return sa.get("message") == "no such Region" and status.get("regionsReady") == "4/5"

    # A Drop that lists sa says it is missing (one that runs "everywhere" just has four now).
    poll(sa_missing, timeout_s=30, what="the Drop to report that Region sa is gone")
    clusters.kubectl("hub", "delete", "drop", name, "-n", DROPS_NS, "--timeout=60s")
