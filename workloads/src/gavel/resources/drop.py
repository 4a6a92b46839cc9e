"""The Drop resource: a timed auction of one item, run in one or more regions. Pure.

Parsed by the operator's Drop handlers (:mod:`gavel_operator.handlers`) and by
:func:`gavel.drop_rules.rules_from_manifest` (``gavel drops open``); converted into the Drop CRD's
schema by :mod:`gavel_operator.crds`. The CEL rules mirror :meth:`gavel.auction.Rules.errors`
and :data:`gavel.auction.FROZEN_ONCE_OPEN`, so the API server refuses a bad spec with a clear
message before the operator ever sees it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from gavel.auction import MAX_AMOUNT
from gavel.resources.fields import (
    GENERATION_MAX,
    Conditions,
    Int,
    KubeName,
    ListType,
    ObjectMeta,
    Omit,
    Resource,
    Rule,
    Time,
)
from gavel.resources.phase import FROZEN_PHASES, Phase, listed

MAX_LEAD_SECONDS = 24 * 3600
"""Pre-scaling may start at most a day before a drop opens."""


class Product(Resource):
    sku: str | None = Field(default=None, description="Stock-keeping unit.")
    title: str | None = Field(default=None, description="Display title.")


class Increment(Resource):
    from_: Int = Field(
        alias="from", ge=0, le=MAX_AMOUNT, description="Lower bound of the tier (minor units)."
    )
    step: Int = Field(ge=1, le=MAX_AMOUNT, description="Minimum raise in this tier.")


Increments = Annotated[
    tuple[Annotated[Increment, Field(description="One tier.")], ...],
    Rule("self[0].from == 0", "the first increment tier must start from 0"),
    Rule(
        "self.all(i, self.exists_one(j, j.from == i.from))",
        "increment tiers must not repeat a 'from'",
    ),
    Rule("self.map(i, i.from).isSorted()", "increment tiers must be sorted by 'from'"),
]


class SoftClose(Resource):
    window_seconds: Int = Field(ge=1, le=3600, description="Window before the end.")
    extension_seconds: Int = Field(ge=1, le=3600, description="Extension.")
    hard_stop_at: Time | None = Field(default=None, description="Latest possible end.")


class Auction(Resource):
    currency: str = Field(pattern="^[A-Z]{3}$", description="ISO 4217 code.")
    start_price: Int = Field(ge=1, le=MAX_AMOUNT, description="Lowest first bid (minor units).")
    reserve_price: Int = Field(
        default=0,
        ge=0,
        le=MAX_AMOUNT,
        description="Bids below it are accepted; the drop reports whether it was met.",
    )
    increments: Increments = Field(
        min_length=1,
        max_length=32,
        description="Tiers by high bid: from 'from' upwards, bids rise by at least 'step'.",
    )
    soft_close: SoftClose | None = Field(
        default=None,
        description="A bid in the last windowSeconds moves the end to now + "
        "extensionSeconds, never past hardStopAt.",
    )


# The CRD states no default for the peaks: an absent peak stays absent in the stored object.
Peak = Annotated[Int, Omit(("default",))]
# Weights are plain integers in the schema (no int64 format): they are relative, not amounts.
Weight = Annotated[Int, Field(ge=0, le=1000), Omit(("format",))]


class Demand(Resource):
    peak_observers: Peak = Field(
        default=0, ge=0, le=10**9, description="Observers at the peak, all regions together."
    )
    peak_bidders: Peak = Field(
        default=0, ge=0, le=10**7, description="Bids per second at the peak, all regions together."
    )
    prices_per_second: Int = Field(
        default=5,
        ge=0,
        le=1000,
        description="Prices per second every observer is sent at the peak (the drop's accepted "
        "bids per second): fan-out pods are sized by observers x this, in deliveries per second.",
    )
    region_weights: dict[str, Weight] = Field(
        default_factory=dict,
        description="Share of the crowd per region (relative weights; default: equal).",
    )


class PreScale(Resource):
    lead_seconds: Int = Field(
        default=600, ge=0, le=MAX_LEAD_SECONDS, description="Scale up this long before startsAt."
    )
    headroom_percent: Int = Field(
        default=30, ge=0, le=500, description="Extra capacity over the expected peak."
    )
    cooldown_seconds: Int = Field(
        default=600,
        ge=0,
        le=MAX_LEAD_SECONDS,
        description="Keep the raised capacity this long after the end.",
    )
    """Observers linger to see the result."""


class DropSpec(Resource):
    cel = (
        Rule("timestamp(self.endsAt) > timestamp(self.startsAt)", "endsAt must be after startsAt"),
        Rule(
            "!has(self.regions) || self.homeRegion in self.regions",
            "homeRegion must be one of regions",
        ),
        Rule(
            "!has(self.auction.softClose) || !has(self.auction.softClose.hardStopAt) "
            "|| timestamp(self.auction.softClose.hardStopAt) >= timestamp(self.endsAt)",
            "softClose.hardStopAt must not be before endsAt",
        ),
    )

    product: Product | None = Field(default=None, description="What is sold.")
    home_region: KubeName = Field(description="Region whose Redis decides every bid.")
    regions: Annotated[tuple[KubeName, ...], ListType("set")] = Field(
        default=(), max_length=16, description="Participating regions (default: all)."
    )
    starts_at: Time = Field(description="When bidding opens.")
    ends_at: Time = Field(description="When bidding closes (before soft-close extensions).")
    cancelled: bool = Field(default=False, description="Stop the drop; cannot be undone.")
    auction: Auction = Field(
        description="The auction rules; frozen once the drop is live (see docs)."
    )
    demand: Demand = Field(default_factory=Demand, description="Expected crowd, for pre-scaling.")
    pre_scale: PreScale = Field(
        default_factory=PreScale, description="When and how much to scale up before the drop opens."
    )


class RegionRollout(Resource):
    ready: bool | None = Field(default=None, description="Rules and scale applied.")
    gateway_replicas: Int | None = Field(
        default=None, ge=0, le=10**5, description="Gateway replicas asked for."
    )
    fanout_replicas: Int | None = Field(
        default=None, ge=0, le=10**5, description="Fan-out replicas asked for."
    )
    message: str | None = Field(default=None, description="Why not ready.")


class DropStatus(Resource):
    phase: Phase | None = Field(default=None, description=f"{listed()}.")
    regions: dict[str, Annotated[RegionRollout, Field(description="One region.")]] = Field(
        default_factory=dict, description="Rollout per region."
    )
    regions_ready: str | None = Field(
        default=None, description="Ready regions over participating ones, e.g. 4/5."
    )
    live_ends_at: Time | None = Field(
        default=None,
        description="The end in the home region's Redis (soft close may have moved it).",
    )
    high_bid: Int | None = Field(
        default=None, ge=0, le=MAX_AMOUNT, description="Current high bid (minor units)."
    )
    bids: Int | None = Field(default=None, ge=0, le=GENERATION_MAX, description="Accepted bids.")
    winner_alias: str | None = Field(default=None, description="Leader alias once closed.")
    reserve_met: bool | None = Field(default=None, description="The high bid reached the reserve.")
    conditions: Conditions = ()
    observed_generation: Int | None = Field(
        default=None, ge=0, le=GENERATION_MAX, description="spec generation the status describes."
    )


# Once the drop is live (the operator says so in status), what bidders decided under is
# frozen: the auction rules and the start; the end may only move later. Mirrors
# gavel.auction.rule_change_errors, which the operator also enforces in Redis.
_WAS_LIVE = (
    "!has(oldSelf.status) || !has(oldSelf.status.phase) || "
    f"!(oldSelf.status.phase in {[str(p) for p in FROZEN_PHASES]}) || "
)


class Drop(Resource):
    """A whole Drop object: what the API server returns and ``gavel drops open`` reads."""

    cel = (
        Rule(
            _WAS_LIVE + "self.spec.auction == oldSelf.spec.auction",
            "spec.auction is frozen once the drop is live",
        ),
        Rule(
            _WAS_LIVE + "(self.spec.startsAt == oldSelf.spec.startsAt && "
            "self.spec.homeRegion == oldSelf.spec.homeRegion)",
            "spec.startsAt and spec.homeRegion are frozen once the drop is live",
        ),
        Rule(
            _WAS_LIVE + "timestamp(self.spec.endsAt) >= timestamp(oldSelf.spec.endsAt)",
            "spec.endsAt may only move later once the drop is live",
        ),
        Rule(
            "!has(oldSelf.spec.cancelled) || !oldSelf.spec.cancelled || "
            "(has(self.spec.cancelled) && self.spec.cancelled)",
            "a cancelled drop cannot be reopened",
        ),
    )

    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: DropSpec = Field(description="A timed auction of one item, run in one or more regions.")
    status: DropStatus = Field(
        default_factory=DropStatus, description="Aggregated from every region."
    )
