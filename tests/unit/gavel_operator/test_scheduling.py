from __future__ import annotations

import pytest

from gavel_operator.scheduling import (
    Capacity,
    Phase,
    Replicas,
    Timeline,
    desired_replicas,
    next_change,
    phase_at,
    region_shares,
    scaled_at,
)

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


def test_timeline_from_spec_prefers_the_live_end() -> None:
    spec = {
        "startsAt": "2026-12-01T18:00:00Z",
        "endsAt": "2026-12-01T18:10:00Z",
        "preScale": {"leadSeconds": 900},
    }
    t = Timeline.from_spec(spec)
    assert t.ends_at - t.starts_at == 600
    assert t.lead_s == 900
    assert Timeline.from_spec(spec, live_end=t.ends_at + 60).ends_at == t.ends_at + 60


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
    r = desired_replicas(
        share=0.6,
        peak_observers=200_000,
        peak_bids_per_s=3_000,
        headroom_percent=30,
        capacity=cap,
        scaled=True,
    )
    # 120k observers * 1.3 / 20k = 7.8 -> 8; 1,800 bids/s * 1.3 / 2k = 1.17 -> 2 (baseline 2)
    assert r == Replicas(gateway=2, fanout=8)
    assert desired_replicas(
        share=0.6,
        peak_observers=200_000,
        peak_bids_per_s=3_000,
        headroom_percent=30,
        capacity=cap,
        scaled=False,
    ) == Replicas(2, 2)


def test_capacity_from_region_spec() -> None:
    cap = Capacity.from_spec(
        {
            "capacity": {"observersPerFanoutPod": 5, "bidsPerSecondPerGatewayPod": 7},
            "baseline": {"gateway": 3},
        }
    )
    assert cap == Capacity(5, 7, baseline_gateway=3, baseline_fanout=2)
