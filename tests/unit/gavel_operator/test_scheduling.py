from __future__ import annotations

from fractions import Fraction

import pytest

from gavel.resources.phase import Phase
from gavel_operator.scheduling import (
    Capacity,
    Demand,
    DropPlan,
    Replicas,
    Timeline,
    desired_replicas,
    next_change,
    phase_at,
    region_minimums,
    region_shares,
    scaled_at,
)
from tests.unit.resources.samples import drop_spec, region_spec

T = Timeline(starts_at=1_000, ends_at=2_000, lead_s=300, cooldown_s=600)


@pytest.mark.parametrize(
    ("now", "phase", "scaled"),
    [
        (0, Phase.SCHEDULED, False),
        (699.9, Phase.SCHEDULED, False),
        (700, Phase.PRE_SCALING, True),
        (1_000, Phase.LIVE, True),
        (1_999, Phase.LIVE, True),
        (2_000, Phase.CLOSED, True),  # cooldown: observers stay for the result
        (2_600, Phase.CLOSED, False),
    ],
)
def test_phases_and_scaling_follow_the_clock(now: float, phase: Phase, scaled: bool) -> None:
    assert phase_at(now, T) is phase
    assert scaled_at(now, T) is scaled


def test_cancelled_wins_and_never_scales() -> None:
    t = Timeline(1_000, 2_000, 300, cancelled=True)
    assert phase_at(1_500, t) is Phase.CANCELLED
    assert not scaled_at(1_500, t)
    assert next_change(1_500, t) is None


def test_next_change_points_at_the_next_boundary() -> None:
    assert next_change(0, T) == 700
    assert next_change(800, T) == 200
    assert next_change(1_500, T) == 500
    assert next_change(2_100, T) == 500
    assert next_change(3_000, T) is None


def test_timeline_of_a_spec_prefers_the_live_end() -> None:
    spec = drop_spec(
        startsAt="2026-12-01T18:00:00Z",
        endsAt="2026-12-01T18:10:00Z",
        preScale={"leadSeconds": 900},
    )
    t = Timeline.of(spec)
    assert t.ends_at - t.starts_at == 600
    assert t.lead_s == 900
    assert Timeline.of(spec, live_end=t.ends_at + 60).ends_at == t.ends_at + 60


def test_shares_follow_weights_or_split_equally() -> None:
    assert region_shares(["us", "eu"], None) == {"us": 0.5, "eu": 0.5}
    assert region_shares(["us", "eu", "in"], {"us": 3, "eu": 1}) == {
        "us": 0.75,
        "eu": 0.25,
        "in": 0.0,
    }
    assert region_shares(["us", "eu"], {"us": 0, "eu": 0}) == {"us": 0.5, "eu": 0.5}


def test_replicas_cover_the_share_of_the_peak_with_headroom() -> None:
    cap = Capacity(observers_per_fanout_pod=20_000, bids_per_second_per_gateway_pod=2_000)
    demand = Demand(
        peak_observers=200_000, peak_bids_per_s=3_000, headroom_percent=30, prices_per_s=1
    )
    # 120k observers * 1.3 / 20k = 7.8 -> 8 (at 1 price/s, 156k deliveries/s / 40k need only
    # 4); 1,800 bids/s * 1.3 / 2k = 1.17 -> 2 (baseline 2)
    assert desired_replicas(Fraction(3, 5), demand, cap, scaled=True) == Replicas(
        gateway=2, fanout=8
    )
    assert desired_replicas(Fraction(3, 5), demand, cap, scaled=False) == Replicas(2, 2)


def test_fanout_pods_are_sized_by_deliveries_per_second_when_prices_move_fast() -> None:
    cap = Capacity(
        observers_per_fanout_pod=20_000,
        bids_per_second_per_gateway_pod=2_000,
        deliveries_per_second_per_fanout_pod=40_000,
    )
    demand = Demand(peak_observers=100_000, peak_bids_per_s=0, headroom_percent=0, prices_per_s=5)
    # 100k sockets fit in 5 pods, but 100k x 5 prices/s = 500k deliveries/s need 12.5 -> 13.
    assert desired_replicas(Fraction(1), demand, cap, scaled=True) == Replicas(2, 13)
    quiet = Demand(peak_observers=100_000, peak_bids_per_s=0, headroom_percent=0, prices_per_s=0)
    assert desired_replicas(Fraction(1), quiet, cap, scaled=True) == Replicas(2, 5)


def test_capacity_from_region_spec() -> None:
    cap = Capacity.of(
        region_spec(
            capacity={"observersPerFanoutPod": 5, "bidsPerSecondPerGatewayPod": 7},
            baseline={"gateway": 3},
        )
    )
    assert cap == Capacity(5, 7, baseline_gateway=3, baseline_fanout=2)


def test_demand_of_a_spec_reads_demand_and_prescale() -> None:
    spec = drop_spec(
        demand={"peakObservers": 10, "peakBidders": 3, "regionWeights": {"us": 2, "eu": 1}},
        preScale={"headroomPercent": 50},
    )
    assert Demand.of(spec) == Demand(10, 3, 50, (("eu", 1), ("us", 2)), prices_per_s=5)
    fast = drop_spec(demand={"peakObservers": 10, "pricesPerSecond": 20})
    assert Demand.of(fast).prices_per_s == 20
    assert Demand.of(drop_spec()) == Demand()


def test_timeline_reads_the_cooldown() -> None:
    spec = drop_spec(preScale={"leadSeconds": 5, "cooldownSeconds": 7})
    t = Timeline.of(spec)
    assert (t.lead_s, t.cooldown_s) == (5, 7)


CAP = Capacity(observers_per_fanout_pod=1_000, bids_per_second_per_gateway_pod=100)
BIG = Demand(peak_observers=10_000, peak_bids_per_s=1_000, headroom_percent=0)


def test_region_minimums_are_the_baseline_without_a_scaled_drop() -> None:
    later = DropPlan((), Timeline(10_000, 20_000, 300), BIG)
    assert region_minimums("us", ["us", "eu"], CAP, [later], now=0) == Replicas(2, 2)


def test_concurrent_drops_add_up_and_only_participants_count() -> None:
    both = DropPlan((), T, BIG)  # every region, equal shares: 5 gateways, 5 fan-outs each
    us_only = DropPlan(("us",), T, BIG)  # all of it in us: 10 and 10
    assert region_minimums("us", ["us", "eu"], CAP, [both, us_only], now=1_500) == Replicas(15, 15)
    assert region_minimums("eu", ["us", "eu"], CAP, [both, us_only], now=1_500) == Replicas(5, 5)


def test_weights_split_the_crowd() -> None:
    weighted = DropPlan(("us", "eu"), T, Demand(10_000, 1_000, 0, (("eu", 1), ("us", 3))))
    assert region_minimums("us", ["us", "eu"], CAP, [weighted], now=1_500) == Replicas(8, 8)
    assert region_minimums("eu", ["us", "eu"], CAP, [weighted], now=1_500) == Replicas(3, 3)


def test_exact_shares_do_not_round_up_a_whole_pod() -> None:
    # 200k * 1/2 * 1.2 / 20k is exactly 6; in floats it is 6.000000000000001.
    cap = Capacity(observers_per_fanout_pod=20_000, bids_per_second_per_gateway_pod=2_000)
    demand = Demand(
        peak_observers=200_000, peak_bids_per_s=20_000, headroom_percent=20, prices_per_s=1
    )
    assert desired_replicas(Fraction(1, 2), demand, cap, scaled=True) == Replicas(6, 6)
