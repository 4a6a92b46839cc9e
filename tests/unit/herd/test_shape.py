"""The herd's shape: sizes, profiles, who bids where, and the drop's timeline."""

from __future__ import annotations

import dataclasses
import random

import pytest

from gavel.herd.records import Channel
from gavel.herd.shape import (
    PROFILES,
    ProfileError,
    Sizes,
    Timeline,
    bidders,
    deal,
    next_amount,
    profile_for,
    profile_named,
    send_times,
    spread,
)

SIZES = Sizes(bidders=100, observers=1_000, regions=("us", "eu", "ap"), duration_s=60)


def test_totals_spread_evenly_over_regions() -> None:
    assert spread(10, ("us", "eu", "ap")) == {"us": 4, "eu": 3, "ap": 3}
    assert sum(spread(1_000, SIZES.regions).values()) == 1_000


def test_bidders_are_reproducible_from_the_seed_and_mix_channels_and_greed() -> None:
    launch = PROFILES["launch"]
    crowd = bidders(SIZES, launch, seed=7)
    assert crowd == bidders(SIZES, launch, seed=7)
    assert crowd != bidders(SIZES, launch, seed=8)
    assert {b.channel for b in crowd} == {Channel.REST, Channel.WEBSOCKET}
    assert {b.region for b in crowd} == set(SIZES.regions)
    assert len({b.name for b in crowd}) == 100
    assert any(b.greedy for b in bidders(SIZES, PROFILES["smoke"], seed=7))


def test_the_timeline_runs_surge_steady_snipe_closing() -> None:
    launch = PROFILES["launch"]
    t = Timeline.of(SIZES, launch)
    assert (t.opens_s, t.ends_s, t.soft_window_s, t.hard_stop_s) == (10, 70, 10, 100)
    assert [t.phase(s) for s in (0, 10, 59.9, 60, 69.9, 70)] == [
        "surge",
        "steady",
        "steady",
        "snipe",
        "snipe",
        "closing",
    ]
    assert t.rate_factor(5, launch) == 0
    assert t.rate_factor(30, launch) == 1
    assert t.rate_factor(65, launch) == launch.snipe_factor
    assert t.rate_factor(75, launch) == 0


def test_a_short_drop_keeps_half_of_it_out_of_the_soft_window() -> None:
    t = Timeline.of(Sizes(1, 0, ("us",), 8), PROFILES["launch"])
    assert t.soft_window_s == 4


def test_bad_sizes_and_profiles_are_refused_clearly() -> None:
    assert Sizes(0, -1, (), 0).errors() == [
        "--bidders must be at least 1",
        "--observers must not be negative",
        "--regions needs at least one region",
        "--duration must be positive",
    ]
    with pytest.raises(ProfileError, match="known: launch, smoke"):
        profile_named("stampede")


def test_amounts_are_at_least_the_minimum_and_integers() -> None:
    rng = random.Random(1)
    offers = {next_amount(1_000, rng) for _ in range(200)}
    assert min(offers) == 1_000
    assert all(isinstance(o, int) for o in offers)


def test_a_profile_with_greedy_bidders_has_at_least_one() -> None:
    few = Sizes(bidders=3, observers=0, regions=("us",), duration_s=10)
    assert sum(b.greedy for b in bidders(few, PROFILES["smoke"], seed=3)) == 1


def test_an_open_loop_rate_is_shared_by_the_bidders() -> None:
    launch = PROFILES["launch"]
    sizes = Sizes(bidders=400, observers=0, regions=("us",), duration_s=30, bid_rate=1_000)
    assert profile_for(launch, sizes).rate_per_bidder == 2.5
    closed = Sizes(bidders=400, observers=0, regions=("us",), duration_s=30)
    assert profile_for(launch, closed) is launch
    assert Sizes(1, 0, ("us",), 1, bid_rate=0).errors() == ["--bid-rate must be positive"]


def test_an_open_loop_schedule_keeps_its_rate_and_snipes_in_the_window() -> None:
    launch = dataclasses.replace(PROFILES["launch"], rate_per_bidder=4.0)
    t = Timeline.of(Sizes(1, 0, ("us",), 60), launch)  # opens 10, window 60-70
    times = list(send_times(t, launch, random.Random(5)))
    assert t.opens_s <= times[0] <= t.opens_s + launch.burst_spread_s
    assert times == sorted(times)
    assert times[-1] < t.ends_s
    steady = sum(1 for x in times if x < t.ends_s - t.soft_window_s)
    snipes = len(times) - steady
    # 4/s for 50 s, then 12/s for 10 s: Poisson counts, well inside 4 standard deviations.
    assert abs(steady - 200) < 4 * 200**0.5
    assert abs(snipes - 120) < 4 * 120**0.5
    # Reproducible from the seed: the schedule never depends on answers.
    assert list(send_times(t, launch, random.Random(5))) == times


def test_dealing_splits_evenly_and_keeps_everyone_once() -> None:
    hands = deal(list(range(10)), 3)
    assert hands == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert deal([1], 4) == [[1], [], [], []]
    with pytest.raises(ProfileError):
        deal([1], 0)
