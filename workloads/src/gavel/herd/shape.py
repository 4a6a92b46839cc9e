"""A herd's shape: sizes, named profiles, who bids where, and the timeline of one drop. Pure.

Read by :mod:`gavel.herd.run` (and ``gavel herd``'s flags). Times are seconds on the herd's
clock from its start: observers surge in before the drop opens, bidders burst at the open,
bid steadily, and a sniping wave runs in the soft-close window before the planned end.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from gavel.herd.records import Channel


@dataclass(frozen=True, slots=True)
class Profile:
    """How a drop is driven, apart from its sizes."""

    name: str
    surge_s: float
    """Observers connect over this long, before the drop opens."""
    rate_per_bidder: float
    """Steady bids per second of one bidder (the per-bidder limit is 5/s, burst 10)."""
    burst_spread_s: float
    """Every bidder's first bid lands within this long after the open."""
    soft_window_s: float
    soft_extension_s: float
    snipe_factor: float
    """Bid rate in the soft-close window, as a multiple of the steady rate."""
    retry_fraction: float
    """Share of bids sent again with the same bid_id (a client that did not trust its answer)."""
    greedy_fraction: float
    """Share of bidders that once fire a volley past the rate limit."""
    websocket_fraction: float
    """Share of bidders on the bidder WebSocket; the others use REST."""
    cut_fraction: float
    """Share of observers whose socket is cut mid-drop (they resume with ``since``)."""


PROFILES: dict[str, Profile] = {
    "launch": Profile(
        name="launch",
        surge_s=10.0,
        rate_per_bidder=1.0,
        burst_spread_s=0.5,
        soft_window_s=10.0,
        soft_extension_s=5.0,
        snipe_factor=3.0,
        retry_fraction=0.03,
        greedy_fraction=0.02,
        websocket_fraction=0.5,
        cut_fraction=0.05,
    ),
    "smoke": Profile(
        name="smoke",
        surge_s=3.0,
        rate_per_bidder=1.0,
        burst_spread_s=0.3,
        soft_window_s=4.0,
        soft_extension_s=2.0,
        snipe_factor=3.0,
        retry_fraction=0.05,
        greedy_fraction=0.1,
        websocket_fraction=0.5,
        cut_fraction=0.2,
    ),
}

GREEDY_VOLLEY = 14
"""Bids a greedy bidder fires at once: past the bucket's burst of 10, so some are limited."""


class ProfileError(ValueError):
    """Sizes or a profile name that cannot make a herd."""


@dataclass(frozen=True, slots=True)
class BidderSpec:
    name: str
    region: str
    channel: Channel
    greedy: bool


@dataclass(frozen=True, slots=True)
class Sizes:
    bidders: int
    observers: int
    regions: tuple[str, ...]
    duration_s: float
    """From the open to the planned end (soft close may extend it)."""
    bid_rate: float | None = None
    """Open loop: the steady bids/s of all bidders together (the soft-close window multiplies
    it), each bidder sending on its own schedule without waiting for answers. None: closed
    loop, each bidder waits for its answer, then bids at the profile's rate."""

    def errors(self) -> list[str]:
        errs = []
        if self.bidders < 1:
            errs.append("--bidders must be at least 1")
        if self.observers < 0:
            errs.append("--observers must not be negative")
        if not self.regions:
            errs.append("--regions needs at least one region")
        if self.duration_s <= 0:
            errs.append("--duration must be positive")
        if self.bid_rate is not None and self.bid_rate <= 0:
            errs.append("--bid-rate must be positive")
        return errs


def profile_for(profile: Profile, sizes: Sizes) -> Profile:
    """``profile`` with each bidder's steady rate set by ``sizes``'s open-loop total, if any."""
    if sizes.bid_rate is None:
        return profile
    return replace(profile, rate_per_bidder=sizes.bid_rate / sizes.bidders)


def profile_named(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ProfileError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}") from None


def spread(total: int, regions: tuple[str, ...]) -> dict[str, int]:
    """``total`` split over ``regions`` as evenly as possible (the first ones get the rest)."""
    base, rest = divmod(total, len(regions))
    return {r: base + (i < rest) for i, r in enumerate(regions)}


def bidders(sizes: Sizes, profile: Profile, seed: int) -> list[BidderSpec]:
    """Every bidder with its region, channel and whether it is greedy, reproducibly."""
    rng = random.Random(seed)
    places = [(r, i) for r, n in spread(sizes.bidders, sizes.regions).items() for i in range(n)]
    # At least one greedy bidder whenever the profile has any, so every herd meets the limit.
    wanted = max(1, round(profile.greedy_fraction * len(places))) if profile.greedy_fraction else 0
    greedy = set(rng.sample(range(len(places)), wanted))
    return [
        BidderSpec(
            f"herd-{region}-{i}",
            region,
            Channel.WEBSOCKET if rng.random() < profile.websocket_fraction else Channel.REST,
            n in greedy,
        )
        for n, (region, i) in enumerate(places)
    ]


@dataclass(frozen=True, slots=True)
class Timeline:
    """One drop on the herd's clock (seconds from its start)."""

    opens_s: float
    ends_s: float
    """Planned end; soft close may move it up to :attr:`hard_stop_s`."""
    hard_stop_s: float
    soft_window_s: float

    @classmethod
    def of(cls, sizes: Sizes, profile: Profile) -> Timeline:
        opens = profile.surge_s
        ends = opens + sizes.duration_s
        window = min(profile.soft_window_s, sizes.duration_s / 2)
        return cls(opens, ends, ends + 3 * window, window)

    def phase(self, t: float) -> str:
        if t < self.opens_s:
            return "surge"
        if t < self.ends_s - self.soft_window_s:
            return "steady"
        if t < self.ends_s:
            return "snipe"
        return "closing"

    def rate_factor(self, t: float, profile: Profile) -> float:
        """Multiple of the steady rate at ``t``; 0 before the open and after the planned end
        (bids after it are the snipes that extended the drop, fired from inside the window)."""
        phase = self.phase(t)
        return {"steady": 1.0, "snipe": profile.snipe_factor}.get(phase, 0.0)


def next_amount(min_next: int, rng: random.Random) -> int:
    """What a bidder offers when the minimum is ``min_next``: usually the minimum, sometimes a
    little more (never a float: amounts are minor units)."""
    return min_next + rng.choice((0, 0, 0, 100, 500))


def send_times(timeline: Timeline, profile: Profile, rng: random.Random) -> Iterator[float]:
    """One open-loop bidder's schedule: when each bid is due on the herd's clock, decided
    before any answer comes back. The first lands in the burst after the open, then the gaps
    are exponential (a Poisson process) at :attr:`Profile.rate_per_bidder` times the phase's
    factor, until the planned end. A bid is timed from when it was due, not from when the
    client got round to sending it, so a late client shows in the latency (no coordinated
    omission)."""
    t = timeline.opens_s + rng.uniform(0, profile.burst_spread_s)
    while t < timeline.ends_s:
        yield t
        t += rng.expovariate(profile.rate_per_bidder * max(1.0, timeline.rate_factor(t, profile)))


T = TypeVar("T")


def deal(items: Sequence[T], parts: int) -> list[list[T]]:
    """``items`` dealt round-robin into ``parts`` hands (sizes differ by at most one; a shuffled
    list gives every hand the same mix of regions and kinds)."""
    if parts < 1:
        raise ProfileError(f"cannot deal into {parts} client processes")
    return [list(items[k::parts]) for k in range(parts)]
