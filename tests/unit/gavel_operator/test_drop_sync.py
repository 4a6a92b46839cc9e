"""The pure parts of the Drop reconciler: participation, the escape hatch, per-region reports.
The I/O (clusters, Redis) is covered by tests/e2e/test_operator_drops.py and its siblings."""

from __future__ import annotations

from typing import Any

from gavel.resources.drop import DropStatus
from gavel.resources.phase import Phase
from gavel.resources.region import RegionStatus
from gavel_operator.drop_sync import (
    DropInput,
    Rollout,
    abandoned,
    cleanup_status,
    participating,
    phase_event,
    readiness,
    region_report,
)
from gavel_operator.region_sync import RegionInfo
from tests.unit.resources.samples import drop_spec, region_spec

SPEC = drop_spec(
    demand={"peakObservers": 100_000, "peakBidders": 0, "regionWeights": {"us": 1, "eu": 1}},
    preScale={"headroomPercent": 0},
)
NO_STATUS = DropStatus()
# Deliveries per pod high enough that sockets decide the fan-out count here.
CAPACITY = {
    "observersPerFanoutPod": 10_000,
    "bidsPerSecondPerGatewayPod": 100,
    "deliveriesPerSecondPerFanoutPod": 10_000_000,
}


def region(name: str, **status: Any) -> RegionInfo:
    return RegionInfo(
        name, region_spec(name, capacity=CAPACITY), RegionStatus.model_validate(status)
    )


def known() -> dict[str, RegionInfo]:
    return {r: region(r) for r in ("us", "eu", "ap")}


def test_regions_default_to_every_region() -> None:
    assert participating(drop_spec(), known()) == ["ap", "eu", "us"]
    assert participating(drop_spec(regions=["us", "eu"]), known()) == ["us", "eu"]


def test_abandoned_regions_come_from_the_annotation() -> None:
    drop = DropInput("d", "ns", SPEC, NO_STATUS, 1, {"gavel.dev/abandon-regions": " sa, ap ,"})
    assert abandoned(drop) == {"sa", "ap"}
    assert abandoned(DropInput("d", "ns", SPEC, NO_STATUS, 1)) == set()


def _report(reg: RegionInfo | None, rollout: Rollout | None, *, scaled: bool) -> dict[str, Any]:
    drop = DropInput("d", "ns", SPEC, NO_STATUS, 2)
    return region_report(drop, reg, rollout, ["us", "eu"], scaled)


def test_a_region_is_ready_once_its_rules_are_written_and_its_floors_cover_the_drop() -> None:
    done = Rollout(generation=2)
    # Half of 100k observers at 10k per pod: 5 fan-outs.
    ready = _report(region("us", minReplicas={"gateway": 2, "fanout": 5}), done, scaled=True)
    assert ready == {"ready": True, "gatewayReplicas": 2, "fanoutReplicas": 5}
    short = _report(region("us", minReplicas={"gateway": 2, "fanout": 4}), done, scaled=True)
    assert short["message"] == "waiting for the region to scale"


def test_why_a_region_is_not_ready() -> None:
    stale = Rollout(generation=1)
    stale.retry.failed(0, "eu Redis: ConnectionError")
    assert _report(region("eu"), stale, scaled=False)["message"] == "eu Redis: ConnectionError"
    assert _report(region("eu"), Rollout(), scaled=False)["message"] == "rules not written yet"
    down = region("eu", reachable=False, minReplicas={"gateway": 2, "fanout": 2})
    assert _report(down, Rollout(generation=2), scaled=False)["message"] == "region unreachable"
    assert _report(None, None, scaled=False) == {"ready": False, "message": "no such Region"}


def test_cleanup_status_names_what_is_left_and_the_way_out() -> None:
    drop = DropInput("d", "ns", SPEC, NO_STATUS, 1)
    pending = cleanup_status(drop, ["sa API: unreachable"], 0)["conditions"][0]
    assert (pending["type"], pending["status"]) == ("CleanedUp", "False")
    assert "gavel.dev/abandon-regions" in pending["message"]
    done = cleanup_status(drop, [], 0)["conditions"][0]
    assert done["status"] == "True"


def test_a_phase_change_is_an_event_with_what_matters_then() -> None:
    closed = {
        "phase": "Closed",
        "liveEndsAt": "2030-01-01T00:00:00Z",
        "highBid": 5_000,
        "bids": 3,
        "winnerAlias": "bidder-1",
    }
    assert phase_event(DropStatus(phase=Phase.LIVE), closed) == (
        "Closed",
        "bidding closed at 2030-01-01T00:00:00Z: high bid 5000 from 3 bids, won by bidder-1",
    )
    scaling = {
        "phase": "PreScaling",
        "regions": {"us": {"gatewayReplicas": 6, "fanoutReplicas": 8}},
    }
    reason, message = phase_event(DropStatus(phase=Phase.SCHEDULED), scaling) or ("", "")
    assert (reason, message.endswith("us 6/8")) == ("PreScaling", True)
    assert phase_event(DropStatus(phase=Phase.CLOSED), closed) is None
    assert phase_event(NO_STATUS, {"phase": "Failed"}) == (
        "Failed",
        "the drop's rules cannot be used; see its conditions",
    )


def test_waiting_is_not_ready_but_only_errors_degrade() -> None:
    reports = {
        "us": {"ready": True},
        "eu": {"ready": False, "message": "waiting for the region to scale"},
    }
    (ready, degraded), count = readiness(reports)
    assert (ready.status, degraded.status, count) == (False, False, 1)
    assert ready.message == "1/2 regions ready"
    reports["ap"] = {"ready": False, "message": "region unreachable"}
    (ready, degraded), _ = readiness(reports, "home Redis: ConnectionError")
    assert degraded.status
    assert degraded.message == "ap: region unreachable; home Redis: ConnectionError"
