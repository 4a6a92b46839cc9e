"""Splitting a herd over client processes: every observer and bidder in exactly one process,
each process with a mix of regions, the open-loop rate shared, reproducible from the seed."""

from __future__ import annotations

from collections import Counter

from gavel.audit.settings import CassandraTarget
from gavel.herd.crew import CrewPlan
from gavel.herd.run import Herd, Target, plans, rules_for
from gavel.herd.shape import PROFILES, Sizes, Timeline, bidders, profile_for

REGIONS = ("us", "eu")
TARGET = Target(
    gateways={r: f"http://gw-{r}:8080" for r in REGIONS},
    fanouts={r: f"ws://fo-{r}:8090" for r in REGIONS},
    redis_urls={r: f"redis://redis-{r}" for r in REGIONS},
    token_mint_url="http://issuer/mint",
    audit=CassandraTarget("localhost", 9042, "us"),
    home="us",
)


def herd_of(sizes: Sizes, seed: int = 9) -> Herd:
    return Herd(TARGET, sizes, PROFILES["launch"], seed, drop_id="herd-unit")


def split(herd: Herd, n: int) -> list[CrewPlan]:
    profile = profile_for(herd.profile, herd.sizes)
    rules = rules_for(herd, 0, Timeline.of(herd.sizes, profile))
    tokens = {b.name: f"token-{b.name}" for b in bidders(herd.sizes, profile, herd.seed)}
    return plans(herd, profile, rules, tokens, t0=123.0, n=n)


def test_every_observer_and_bidder_runs_in_exactly_one_process() -> None:
    herd = herd_of(Sizes(bidders=401, observers=20_001, regions=REGIONS, duration_s=30))
    crews = split(herd, 3)
    observers = [o for c in crews for o in c.observers]
    bidders = [b.name for c in crews for b in c.bidders]
    assert len(observers) == len(set(observers)) == 20_001
    assert len(bidders) == len(set(bidders)) == 401
    assert sorted(len(c.observers) for c in crews) == [6_667, 6_667, 6_667]
    for c in crews:  # shuffled before dealing: each process serves every region
        per_region = Counter(r for r, _ in c.observers)
        assert set(per_region) == set(REGIONS)
        assert abs(per_region["us"] - per_region["eu"]) < 400
    assert {c.t0 for c in crews} == {123.0}
    assert len({c.seed for c in crews}) == 3
    assert not any(c.open_loop for c in crews)


def test_an_open_loop_herd_gives_every_process_the_per_bidder_rate() -> None:
    sizes = Sizes(bidders=400, observers=10, regions=REGIONS, duration_s=30, bid_rate=1_000)
    crews = split(herd_of(sizes), 2)
    assert all(c.open_loop for c in crews)
    assert {c.profile.rate_per_bidder for c in crews} == {2.5}
    # 2.5/s for each of its 200 bidders: each process carries half the target.
    assert sum(len(c.bidders) * c.profile.rate_per_bidder for c in crews) == 1_000


def test_the_same_seed_and_process_count_give_the_same_split() -> None:
    sizes = Sizes(bidders=50, observers=500, regions=REGIONS, duration_s=30)
    a, b = split(herd_of(sizes), 2), split(herd_of(sizes), 2)
    assert [(c.observers, c.bidders, c.seed) for c in a] == [
        (c.observers, c.bidders, c.seed) for c in b
    ]
    assert split(herd_of(sizes, seed=10), 2)[0].observers != a[0].observers
