from __future__ import annotations

from gavel.resources.drop import DropStatus
from gavel.resources.region import RegionStatus
from gavel_operator.region_sync import (
    RegionInfo,
    availability,
    desired,
    pods_event,
    reachability_event,
    readiness_needs,
)
from gavel_operator.rendering import Images
from gavel_operator.scheduling import Demand, DropPlan, Replicas, Timeline
from tests.unit.resources.samples import drop_spec, region_spec

PEERS = [RegionInfo(n, region_spec(n, baseline={"gateway": 2, "fanout": 3})) for n in ("eu", "us")]
DROP = DropPlan(("us",), Timeline(1_000, 2_000, 100, cooldown_s=50), Demand(10_000, 1_000, 0))


def _hpa_minimums(now: float) -> tuple[dict[str, int], Replicas]:
    objects, floors = desired(PEERS[1], PEERS, [DROP], Images(), now)
    hpas = {
        o["metadata"]["name"]: o["spec"]["minReplicas"]
        for o in objects
        if o["kind"] == "HorizontalPodAutoscaler"
    }
    return hpas, floors


def test_floors_follow_the_drop_through_its_timeline() -> None:
    assert _hpa_minimums(800) == ({"gavel-gateway": 2, "gavel-fanout": 3}, Replicas(2, 3))
    assert _hpa_minimums(950) == ({"gavel-gateway": 10, "gavel-fanout": 10}, Replicas(10, 10))
    assert _hpa_minimums(2_049)[1] == Replicas(10, 10)  # cooldown
    assert _hpa_minimums(2_050)[1] == Replicas(2, 3)


def test_a_region_outside_the_drop_stays_at_its_baseline() -> None:
    _, floors = desired(PEERS[0], PEERS, [DROP], Images(), 1_500)
    assert floors == Replicas(2, 3)


def test_drop_plan_prefers_the_live_end_from_status() -> None:
    s = drop_spec(startsAt="2030-01-01T00:00:00Z", endsAt="2030-01-01T01:00:00Z")
    plan = DropPlan.of(s, DropStatus.model_validate({"liveEndsAt": "2030-01-01T01:05:00Z"}))
    assert plan.timeline.ends_at - plan.timeline.starts_at == 3_900


def test_reachability_flips_are_events() -> None:
    down = {
        "reachable": False,
        "conditions": [{"type": "Ready", "reason": "Unreachable", "message": "refused"}],
    }
    was_up, was_down = RegionStatus(reachable=True), RegionStatus(reachable=False)
    assert reachability_event(was_up, down) == ("Warning", "Unreachable", "refused")
    up = {"reachable": True, "conditions": [{"type": "Ready", "message": "15 objects applied"}]}
    assert reachability_event(was_down, up) == ("Normal", "Reachable", "15 objects applied")
    assert reachability_event(was_up, up) is None
    assert reachability_event(was_up, None) is None


def _workload(component: str, wanted: int, ready: int | None) -> dict[str, object]:
    status = {} if ready is None else {"readyReplicas": ready}
    return {
        "metadata": {"name": f"gavel-{component}", "labels": {"app.kubernetes.io/name": component}},
        "spec": {"replicas": wanted},
        "status": status,
    }


def test_availability_counts_ready_over_wanted() -> None:
    summary, short = availability([_workload("gateway", 6, 4), _workload("redis", 1, 1)])
    assert summary == {"gateway": "4/6", "redis": "1/1"}
    assert short == ["gateway 4/6"]
    assert availability([_workload("relay", 1, None)]) == ({"relay": "0/1"}, ["relay 0/1"])


def test_a_new_pod_problem_is_a_warning_event_once() -> None:
    healthy = {"type": "PodsHealthy", "status": "True", "reason": "Healthy", "message": "2 pods"}
    before = RegionStatus.model_validate(
        {"conditions": [healthy | {"lastTransitionTime": "2027-01-01T00:00:00Z"}]}
    )
    crashing = healthy | {"status": "False", "reason": "CrashLooping", "message": "pod r-1 ..."}
    assert pods_event(before, {"conditions": [crashing]}) == (
        "Warning",
        "CrashLooping",
        "pod r-1 ...",
    )
    assert pods_event(before, {"conditions": [healthy]}) is None
    assert pods_event(before, None) is None


def test_readiness_needs_name_the_regions_own_addresses() -> None:
    needs = readiness_needs(region_spec("us"))
    spec = region_spec("us")
    assert spec.endpoints.kafka_bootstrap in needs["relay"]
    assert "gavel-redis" in needs["gateway"]
    assert spec.endpoints.cassandra.contact_points in needs["audit-writer"]
