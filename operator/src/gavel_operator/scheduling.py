"""When a drop is in which phase, and how many replicas each region needs then. Pure.

Called by the operator's handlers and reconcilers with the clock and the Drop/Region models
(:mod:`gavel.resources`); nothing here reads a clock or a cluster. The phases::

    Scheduled --(startsAt - leadSeconds)--> PreScaling --(startsAt)--> Live --(end)--> Closed
    (any) --(spec.cancelled)--> Cancelled

"end" is the live end from the home region's Redis when known (soft close may have moved it),
else ``spec.endsAt``. Replicas are raised from PreScaling until ``cooldown_s`` after the end,
then return to the Region's baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from gavel.resources.drop import Demand as DemandSpec
from gavel.resources.drop import DropSpec, DropStatus, PreScale
from gavel.resources.phase import Phase
from gavel.resources.region import Baseline, RegionSpec
from gavel.resources.region import Capacity as CapacitySpec

# The defaults of the decision inputs are the models' (declared once, there).
_PRE_SCALE, _BASELINE, _DEMAND = PreScale(), Baseline(), DemandSpec()
_CAPACITY_DELIVERIES: int = CapacitySpec.model_fields[
    "deliveries_per_second_per_fanout_pod"
].default


@dataclass(frozen=True, slots=True)
class Timeline:
    """The instants that decide a drop's phase, in epoch seconds."""

    starts_at: float
    ends_at: float
    lead_s: float
    cancelled: bool = False
    cooldown_s: float = _PRE_SCALE.cooldown_seconds

    @classmethod
    def of(cls, spec: DropSpec, live_end: float | None = None) -> Timeline:
        return cls(
            starts_at=spec.starts_at.timestamp(),
            ends_at=live_end if live_end is not None else spec.ends_at.timestamp(),
            lead_s=spec.pre_scale.lead_seconds,
            cancelled=spec.cancelled,
            cooldown_s=spec.pre_scale.cooldown_seconds,
        )


def phase_at(now: float, t: Timeline) -> Phase:
    """The phase at ``now``."""
    if t.cancelled:
        return Phase.CANCELLED
    if now < t.starts_at - t.lead_s:
        return Phase.SCHEDULED
    if now < t.starts_at:
        return Phase.PRE_SCALING
    if now < t.ends_at:
        return Phase.LIVE
    return Phase.CLOSED


def scaled_at(now: float, t: Timeline) -> bool:
    """Whether capacity should be raised at ``now`` (PreScaling, Live, or within cooldown)."""
    return not t.cancelled and t.starts_at - t.lead_s <= now < t.ends_at + t.cooldown_s


def next_change(now: float, t: Timeline) -> float | None:
    """Seconds until the phase or the scaling next changes; None when nothing will."""
    if t.cancelled:
        return None
    upcoming = [
        x
        for x in (t.starts_at - t.lead_s, t.starts_at, t.ends_at, t.ends_at + t.cooldown_s)
        if x > now
    ]
    return min(upcoming) - now if upcoming else None


@dataclass(frozen=True, slots=True)
class Capacity:
    """A Region's capacity model and baseline (its spec.capacity and spec.baseline)."""

    observers_per_fanout_pod: int
    bids_per_second_per_gateway_pod: int
    baseline_gateway: int = _BASELINE.gateway
    baseline_fanout: int = _BASELINE.fanout
    deliveries_per_second_per_fanout_pod: int = _CAPACITY_DELIVERIES

    @classmethod
    def of(cls, spec: RegionSpec) -> Capacity:
        cap, base = spec.capacity, spec.baseline
        return cls(
            cap.observers_per_fanout_pod,
            cap.bids_per_second_per_gateway_pod,
            base.gateway,
            base.fanout,
            cap.deliveries_per_second_per_fanout_pod,
        )


@dataclass(frozen=True, slots=True)
class Replicas:
    gateway: int
    fanout: int


def region_shares(regions: list[str], weights: dict[str, int] | None) -> dict[str, Fraction]:
    """Each region's share of the crowd: its weight over the sum (equal without weights).

    Exact fractions: 6.000000000000001 pods must not round up to 7."""
    if not regions:
        return {}
    w = {r: (weights or {}).get(r, 1 if not weights else 0) for r in regions}
    total = sum(w.values())
    if total == 0:
        return {r: Fraction(1, len(regions)) for r in regions}
    return {r: Fraction(w[r], total) for r in regions}


@dataclass(frozen=True, slots=True)
class Demand:
    """A Drop's expected crowd and how much to scale for it (its spec.demand and preScale)."""

    peak_observers: int = 0
    peak_bids_per_s: int = 0
    headroom_percent: int = _PRE_SCALE.headroom_percent
    weights: tuple[tuple[str, int], ...] = ()
    prices_per_s: int = _DEMAND.prices_per_second

    @classmethod
    def of(cls, spec: DropSpec) -> Demand:
        demand = spec.demand
        return cls(
            demand.peak_observers,
            demand.peak_bidders,
            spec.pre_scale.headroom_percent,
            tuple(sorted(demand.region_weights.items())),
            demand.prices_per_second,
        )


def pods_needed(share: Fraction, demand: Demand, capacity: Capacity) -> Replicas:
    """Pods one drop needs in a region for its ``share`` of the peak, headroom included, before
    any baseline: what concurrent drops add up. Fan-out pods are bounded twice: by the sockets
    one pod holds, and by the deliveries per second it writes (observers x prices per second);
    the second is what a busy drop runs out of first (docs/performance.md, "Fan-out")."""
    factor = Fraction(100 + demand.headroom_percent, 100)
    observers = demand.peak_observers * share * factor
    return Replicas(
        math.ceil(
            demand.peak_bids_per_s * share * factor / capacity.bids_per_second_per_gateway_pod
        ),
        max(
            math.ceil(observers / capacity.observers_per_fanout_pod),
            math.ceil(
                observers * demand.prices_per_s / capacity.deliveries_per_second_per_fanout_pod
            ),
        ),
    )


@dataclass(frozen=True, slots=True)
class DropPlan:
    """What a Region needs to know of one Drop to size itself; built from the Drop resource."""

    regions: tuple[str, ...]
    """Participating regions; empty means every Region."""
    timeline: Timeline
    demand: Demand

    @classmethod
    def of(cls, spec: DropSpec, status: DropStatus) -> DropPlan:
        """From a Drop's spec and status: the end the home Redis reported (``liveEndsAt``)
        wins over ``spec.endsAt``, since soft close moves it."""
        end = status.live_ends_at
        return cls(
            spec.regions,
            Timeline.of(spec, end.timestamp() if end else None),
            Demand.of(spec),
        )

    def participates(self, region: str) -> bool:
        return not self.regions or region in self.regions


def region_minimums(
    region: str, all_regions: list[str], capacity: Capacity, drops: list[DropPlan], now: float
) -> Replicas:
    """The replica floors of ``region`` at ``now``: its baseline, or the pods every drop being
    scaled for needs there together, whichever is more. Drops share the pods, so their needs
    add up."""
    gateway = fanout = 0
    for drop in drops:
        if not drop.participates(region) or not scaled_at(now, drop.timeline):
            continue
        members = list(drop.regions) or all_regions
        share = region_shares(members, dict(drop.demand.weights) or None).get(region, Fraction(0))
        need = pods_needed(share, drop.demand, capacity)
        gateway, fanout = gateway + need.gateway, fanout + need.fanout
    return Replicas(max(gateway, capacity.baseline_gateway), max(fanout, capacity.baseline_fanout))


def desired_replicas(
    share: Fraction, demand: Demand, capacity: Capacity, *, scaled: bool
) -> Replicas:
    """What one drop asks of a region: the baseline, or its share of the peak plus headroom
    (never below the baseline). Shown per region in the Drop's status."""
    if not scaled:
        return Replicas(capacity.baseline_gateway, capacity.baseline_fanout)
    need = pods_needed(share, demand, capacity)
    return Replicas(
        max(need.gateway, capacity.baseline_gateway), max(need.fanout, capacity.baseline_fanout)
    )
