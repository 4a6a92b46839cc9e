from __future__ import annotations

from typing import Any

from gavel_operator import pod_health
from gavel_operator.conditions import Observed

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
STARTED_LONG_AGO = "2027-01-15T07:58:00Z"
STARTED_JUST_NOW = "2027-01-15T07:59:50Z"


def _pod(name: str, *statuses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    containers = [{"name": s["name"], "image": "gavel:dev"} for s in statuses]
    status = {"phase": "Running", "containerStatuses": list(statuses)} | extra
    return {"metadata": {"name": name}, "spec": {"containers": containers}, "status": status}


def _waiting(name: str, reason: str, message: str = "", **extra: Any) -> dict[str, Any]:
    return (
        {"name": name, "ready": False, "restartCount": 0}
        | extra
        | {"state": {"waiting": {"reason": reason, "message": message}}}
    )


def _running(name: str, *, ready: bool, since: str = STARTED_LONG_AGO) -> dict[str, Any]:
    state = {"running": {"startedAt": since}}
    return {"name": name, "ready": ready, "restartCount": 0, "state": state}


def test_healthy_pods_make_a_true_condition() -> None:
    pods = [
        _pod("gw-1", _running("gateway", ready=True)),
        _pod("r-1", _running("relay", ready=True)),
    ]
    assert pod_health.assess(pods, NOW) == Observed(
        "PodsHealthy", True, "Healthy", "2 pods, none failing"
    )


def test_an_image_the_node_lacks_is_named_with_the_kubelets_words() -> None:
    never = _waiting(
        "gateway",
        "ErrImageNeverPull",
        'Container image "gavel:dev" is not present with pull policy of Never',
    )
    observed = pod_health.assess([_pod("gw-1", never)], NOW)
    assert (observed.status, observed.reason) == (False, "ImageMissing")
    assert observed.message == (
        "pod gw-1, container gateway: image gavel:dev is not on the node and cannot be pulled "
        '(ErrImageNeverPull: Container image "gavel:dev" is not present with pull policy of Never)'
    )
    backoff = _waiting("relay", "ImagePullBackOff", "Back-off pulling image")
    assert pod_health.assess([_pod("r-1", backoff)], NOW).reason == "ImageMissing"


def test_a_crash_loop_carries_the_last_termination_message_end() -> None:
    last = {"terminated": {"exitCode": 2, "reason": "Error", "message": "x" * 500 + " bad flag"}}
    looping = _waiting("relay", "CrashLoopBackOff", "back-off 40s", restartCount=4, lastState=last)
    (problem,) = pod_health.problems([_pod("r-1", looping)], NOW)
    assert problem.reason == "CrashLooping"
    assert problem.message.startswith(
        "pod r-1, container relay keeps crashing (CrashLoopBackOff); last exit code 2 (Error): …"
    )
    assert problem.message.endswith(" bad flag")
    assert len(problem.message) < 400


def test_a_killed_container_reports_its_signal() -> None:
    last = {"terminated": {"exitCode": 137, "signal": 9}}
    looping = _waiting("gateway", "CrashLoopBackOff", restartCount=1, lastState=last)
    (problem,) = pod_health.problems([_pod("gw-1", looping)], NOW)
    assert problem.message.endswith("last exit code 137 (signal 9)")


def test_a_restarted_container_running_again_is_no_problem() -> None:
    back = _running("gateway", ready=True) | {
        "restartCount": 1,
        "lastState": {"terminated": {"exitCode": 137}},
    }
    assert pod_health.problems([_pod("gw-1", back)], NOW) == []


def test_not_ready_for_a_minute_names_what_its_readiness_needs() -> None:
    pods = [_pod("r-1", _running("relay", ready=False))]
    needs = {"relay": "Kafka at 10.0.0.9:9092"}
    observed = pod_health.assess(pods, NOW, needs=needs)
    assert (observed.status, observed.reason) == (False, "NotReady")
    assert observed.message == (
        "pod r-1, container relay runs but has not been ready for over 60s; "
        "its readiness needs Kafka at 10.0.0.9:9092"
    )
    starting = [_pod("r-1", _running("relay", ready=False, since=STARTED_JUST_NOW))]
    assert pod_health.assess(starting, NOW, needs=needs).status is True


def test_an_unschedulable_pod_says_why() -> None:
    unscheduled = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": "0/1 nodes are available: 1 Insufficient memory.",
    }
    pod = _pod("gw-2", phase="Pending", conditions=[unscheduled])
    observed = pod_health.assess([pod], NOW)
    assert (observed.reason, observed.message) == (
        "Unschedulable",
        "pod gw-2 is not scheduled: 0/1 nodes are available: 1 Insufficient memory.",
    )


def test_the_most_specific_problem_leads_and_the_message_stays_short() -> None:
    pods = [_pod(f"r-{i}", _running("relay", ready=False)) for i in range(4)] + [
        _pod("z-1", _waiting("gateway", "ErrImageNeverPull"))
    ]
    observed = pod_health.assess(pods, NOW)
    assert observed.reason == "ImageMissing"
    assert observed.message.startswith("pod z-1, container gateway: image")
    assert observed.message.count("; ") == 2
    assert observed.message.endswith(" (and 2 more)")


def test_pods_going_away_or_ended_are_left_out() -> None:
    leaving = _pod("gw-1", _waiting("gateway", "ErrImageNeverPull"))
    leaving["metadata"]["deletionTimestamp"] = "2027-01-15T07:59:00Z"
    done = _pod("job-1", _waiting("x", "CrashLoopBackOff"), phase="Succeeded")
    assert pod_health.problems([leaving, done], NOW) == []


def _condition(status: str, reason: str, message: str) -> dict[str, str]:
    return {"type": "PodsHealthy", "status": status, "reason": reason, "message": message}


def test_a_change_of_the_condition_is_one_event() -> None:
    healthy = [_condition("True", "Healthy", "3 pods, none failing")]
    missing = [_condition("False", "ImageMissing", "pod gw-1 ...")]
    assert pod_health.event(healthy, missing) == ("Warning", "ImageMissing", "pod gw-1 ...")
    assert pod_health.event(missing, missing) is None
    assert pod_health.event(missing, healthy) == ("Normal", "PodsHealthy", "3 pods, none failing")
    assert pod_health.event([], healthy) is None
    assert pod_health.event([], missing) == ("Warning", "ImageMissing", "pod gw-1 ...")
    assert pod_health.event(healthy, []) is None
