"""Fault plans: parsed with clear errors, drawn reproducibly from a seed, printed back."""

from __future__ import annotations

import pytest

from gavel.herd.chaos import (
    WORKLOAD_KINDS,
    Action,
    ChaosError,
    Fault,
    describe,
    parse,
    random_plan,
)

REGIONS = ("us", "eu")


def test_a_plan_parses_into_faults_in_time_order() -> None:
    faults = parse(
        "45s stop fanout/eu for 5s;  30s kill relay/us ; 60s kill audit-writer/eu;", REGIONS
    )
    assert faults == [
        Fault(30, Action.KILL, "relay", "us"),
        Fault(45, Action.STOP, "fanout", "eu", 5),
        Fault(60, Action.KILL, "audit-writer", "eu"),
    ]
    assert (
        describe(faults) == "30s kill relay/us; 45s stop fanout/eu for 5s; 60s kill audit-writer/eu"
    )
    assert parse(describe(faults), REGIONS) == faults


@pytest.mark.parametrize(
    ("plan", "error"),
    [
        ("30 kill relay/us", "write '<at>s kill"),
        ("30s explode relay/us", "unknown action 'explode'"),
        ("30s kill kafka/us", "kafka can only be stopped"),
        ("30s stop redis/us for 5s", "unknown target 'redis'"),
        ("30s kill relay/ap", "region 'ap' is not one of"),
        ("30s stop relay/us", "a stop needs 'for <n>s'"),
        ("30s stop relay/us for 500s", "a stop needs"),
        ("30s kill relay/us for 5s", "a kill takes no duration"),
    ],
)
def test_bad_steps_are_refused_naming_the_step(plan: str, error: str) -> None:
    with pytest.raises(ChaosError, match=error):
        parse(plan, REGIONS)


def test_a_server_under_the_workloads_may_be_stopped() -> None:
    assert parse("10s stop kafka/eu for 20s; 12s stop mirror/us for 3s", REGIONS) == [
        Fault(10, Action.STOP, "kafka", "eu", 20),
        Fault(12, Action.STOP, "mirror", "us", 3),
    ]


def test_a_random_plan_is_reproducible_and_inside_its_window() -> None:
    plan = random_plan(42, REGIONS, 5, 20, count=6)
    assert plan == random_plan(42, REGIONS, 5, 20, count=6)
    assert plan != random_plan(43, REGIONS, 5, 20, count=6)
    assert all(5 <= f.at_s <= 20 and f.region in REGIONS for f in plan)
    assert parse(describe(plan), REGIONS) == plan
    assert all(f.kind in WORKLOAD_KINDS for f in plan)  # never the shared stack's servers
