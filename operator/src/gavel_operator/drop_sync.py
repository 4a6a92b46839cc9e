"""Reconcile one Drop: its rules in every participating region, its status, its clean-up.

Called by the Drop timer and the Drop delete handler in :mod:`gavel_operator.handlers`.
Per region, a rollout is two idempotent writes: the drop's record (a ConfigMap) in the regional
cluster, and its rules in the region's Redis (opened in the home region, copied elsewhere). A
rollout is redone when the Drop's generation changes or a resync is due; a region that fails is
retried with backoff and named in the Drop's conditions while the others go on. The phase comes
from the clock and the end the home Redis reports (soft close moves it); the price, the bid
count and the winner come from the home Redis too. Scaling itself belongs to the Regions, which
size themselves from every Drop (:mod:`gavel_operator.region_sync`); a Drop reports what it asked
of each region and whether the region has applied it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from typing import Any

from redis.exceptions import RedisError

from gavel import drop_rules, endpoints
from gavel.auction import Rules
from gavel.redis_acl import Role
from gavel.resources.drop import DropSpec, DropStatus
from gavel.resources.phase import Phase
from gavel_operator import auctions, conditions, kube, rendering, retrying
from gavel_operator.clusters import ClusterConfigError
from gavel_operator.conditions import Observed
from gavel_operator.region_sync import RegionInfo
from gavel_operator.rendering_parts import MANAGER
from gavel_operator.runtime import Runtime
from gavel_operator.scheduling import (
    Capacity,
    Demand,
    Timeline,
    desired_replicas,
    phase_at,
    region_shares,
    scaled_at,
)

Obj = dict[str, Any]
log = logging.getLogger(__name__)

ABANDON_ANNOTATION = "gavel.dev/abandon-regions"
"""On a Drop being deleted: comma-separated regions (or ``*``) whose clean-up to skip because
they are gone for good. The escape hatch for a finalizer that cannot finish (docs/operator.md)."""


WAITING_TO_SCALE, NOT_WRITTEN = "waiting for the region to scale", "rules not written yet"
IN_PROGRESS = frozenset({WAITING_TO_SCALE, NOT_WRITTEN})
"""Why a region may not be ready yet without anything being wrong (Ready, not Degraded)."""


@dataclass(frozen=True, slots=True)
class DropInput:
    """A Drop resource as the handlers parsed it."""

    name: str
    namespace: str
    spec: DropSpec
    status: DropStatus
    generation: int
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Rollout:
    generation: int = -1
    """The spec generation whose record and rules reached the region; -1: not yet."""
    at: float = float("-inf")
    retry: retrying.Retry = field(default_factory=retrying.Retry)


@dataclass(slots=True)
class DropMemo:
    rollouts: dict[str, Rollout] = field(default_factory=dict)


def participating(spec: DropSpec, known: dict[str, RegionInfo]) -> list[str]:
    """The Drop's regions: as listed, or every Region there is."""
    return list(spec.regions or sorted(known))


def _rules(drop: DropInput) -> Rules:
    return drop_rules.rules_of(drop.name, drop.spec)


def _redis_url(region: RegionInfo) -> str:
    """The Region's Redis, logged in as the operator's ACL user (``REDIS_AUTH_OPERATOR``)."""
    return endpoints.login(region.spec.endpoints.redis_url, Role.OPERATOR)


async def _roll_out(
    drop: DropInput, rules: Rules, region: RegionInfo, *, rt: Runtime, rollout: Rollout, now: float
) -> None:
    """Write the drop's record and rules to one region; records failures in ``rollout``."""
    view = rendering.RegionView.of(region.name, region.spec)
    record = rendering.drop_record(drop.name, drop.namespace, drop.spec, view)
    try:
        k = await rt.blocking(rt.clusters.for_region, region.name, region.spec.cluster)
        await rt.blocking(k.apply, record, MANAGER)
        home = region.name == rules.home_region
        listing = drop_rules.listing_of(drop.spec)
        await auctions.publish(rt.redis.get(_redis_url(region)), rules, home=home, listing=listing)
    except drop_rules.RulesFrozenError as exc:
        rollout.retry.failed(now, f"home Redis refused the change: {exc}", retrying.CONFIGURATION)
    except ClusterConfigError as exc:
        rollout.retry.failed(now, str(exc), retrying.CONFIGURATION)
    except kube.KubeError as exc:
        if exc.refused:
            rt.clusters.forget(region.name)
        backoff = (
            retrying.REFUSED
            if exc.refused
            else retrying.TRANSIENT
            if exc.retryable
            else retrying.CONFIGURATION
        )
        rollout.retry.failed(now, f"{region.name} API: {exc}", backoff)
    except kube.Unreachable as exc:
        rt.clusters.forget(region.name)
        rollout.retry.failed(now, f"{region.name} API unreachable: {exc}")
    except (RedisError, OSError) as exc:
        rollout.retry.failed(now, f"{region.name} Redis: {type(exc).__name__}: {exc}")
    else:
        if rollout.generation != drop.generation:
            log.info("drop %s/%s: rules in %s", drop.namespace, drop.name, region.name)
        rollout.generation, rollout.at = drop.generation, now
        rollout.retry.succeeded()
        rt.metrics.rollouts.labels(region.name, "ok").inc()
        return
    rt.metrics.rollouts.labels(region.name, "failed").inc()
    log.warning(
        "drop %s/%s: %s (attempt %d)",
        drop.namespace,
        drop.name,
        rollout.retry.last_error,
        rollout.retry.failures,
    )


async def reconcile(
    drop: DropInput, known: dict[str, RegionInfo], rt: Runtime, memo: DropMemo, now: float
) -> Obj:
    """Roll the drop out where needed and return its status."""
    members = participating(drop.spec, known)
    missing = [r for r in members if r not in known]
    try:
        rules = _rules(drop)
    except drop_rules.ManifestError as exc:
        return failed_status(drop.status, drop.generation, str(exc), now)
    due = []
    for name in members:
        if name in missing:
            continue
        rollout = memo.rollouts.setdefault(name, Rollout())
        stale = rollout.generation != drop.generation or now - rollout.at >= rt.settings.resync_s
        if stale and rollout.retry.due(now):
            due.append(_roll_out(drop, rules, known[name], rt=rt, rollout=rollout, now=now))
    await asyncio.gather(*due)

    standing, standing_error = None, ""
    if rules.home_region in known:
        try:
            standing = await auctions.standing(
                rt.redis.get(_redis_url(known[rules.home_region])), drop.name
            )
        except (RedisError, OSError) as exc:
            standing_error = f"home Redis: {type(exc).__name__}: {exc}"
    live_end = standing.ends_at_ms / 1000 if standing and standing.ends_at_ms else None
    timeline = Timeline.of(drop.spec, live_end)
    phase = phase_at(now, timeline)
    scaled = scaled_at(now, timeline)

    per_region = {
        name: region_report(drop, known.get(name), memo.rollouts.get(name), members, scaled)
        for name in members
    }
    observed, ready = readiness(per_region, standing_error)
    extra: Obj = {"regions": per_region, "regionsReady": f"{ready}/{len(members)}"}
    if standing is not None:
        met = standing.high_bid >= rules.reserve and standing.bids > 0
        extra |= {
            "highBid": standing.high_bid,
            "bids": standing.bids,
            "reserveMet": met,
            "liveEndsAt": conditions.stamp(standing.ends_at_ms / 1000),
        }
        if phase is Phase.CLOSED and met and standing.leader_alias:
            extra["winnerAlias"] = standing.leader_alias
    return _status(drop, now, phase=phase, observed=observed, extra=extra)


def readiness(per_region: dict[str, Obj], standing_error: str = "") -> tuple[list[Observed], int]:
    """The Drop's Ready and Degraded conditions from its regions' reports, and how many are
    ready. A region still being written to or scaled is not Ready yet, but only an error makes
    the drop Degraded."""
    problems = [f"{n}: {r['message']}" for n, r in per_region.items() if not r["ready"]]
    failing = [p for p in problems if p.split(": ", 1)[1] not in IN_PROGRESS]
    if standing_error:
        failing.append(standing_error)
    ready = len(per_region) - len(problems)
    observed = [
        Observed(
            "Ready",
            not problems,
            "AllRegionsReady" if not problems else "RegionsNotReady",
            f"{ready}/{len(per_region)} regions ready",
        ),
        Observed(
            "Degraded",
            bool(failing),
            "RegionsFailing" if failing else "NoFailures",
            "; ".join(failing),
        ),
    ]
    return observed, ready


def region_report(
    drop: DropInput,
    region: RegionInfo | None,
    rollout: Rollout | None,
    members: list[str],
    scaled: bool,
) -> Obj:
    """One region's line in the Drop's status: what the drop asks of it and why it is not
    ready, if it is not."""
    if region is None or rollout is None:
        return {"ready": False, "message": "no such Region"}
    demand = Demand.of(drop.spec)
    share = region_shares(members, dict(demand.weights) or None)[region.name]
    asked = desired_replicas(share, demand, Capacity.of(region.spec), scaled=scaled)
    floors = region.status.min_replicas
    why = ""
    if rollout.generation != drop.generation:
        why = rollout.retry.last_error or NOT_WRITTEN
    elif region.status.reachable is False:
        why = "region unreachable"
    elif (
        floors is None
        or (floors.gateway or 0) < asked.gateway
        or (floors.fanout or 0) < asked.fanout
    ):
        why = WAITING_TO_SCALE
    report: Obj = {
        "ready": not why,
        "gatewayReplicas": asked.gateway,
        "fanoutReplicas": asked.fanout,
    }
    return report | ({"message": why} if why else {})


def _status(
    drop: DropInput, now: float, *, phase: Phase, observed: list[Observed], extra: Obj | None = None
) -> Obj:
    return {
        "phase": str(phase),
        "observedGeneration": drop.generation,
        "conditions": conditions.merge(drop.status.conditions, observed, now, drop.generation),
    } | (extra or {})


def failed_status(status: DropStatus, generation: int, why: str, now: float) -> Obj:
    """The status of a Drop whose rules cannot be used (the handlers' answer to a spec they
    cannot parse, too): Failed, and why."""
    return {
        "phase": str(Phase.FAILED),
        "observedGeneration": generation,
        "conditions": conditions.merge(
            status.conditions, [Observed("Ready", False, "InvalidRules", why)], now, generation
        ),
    }


def abandoned(drop: DropInput) -> set[str]:
    raw = drop.annotations.get(ABANDON_ANNOTATION, "")
    return {r.strip() for r in raw.split(",") if r.strip()}


async def _clean_region(
    drop: DropInput, rules: Rules | None, region: RegionInfo, rt: Runtime, now: float
) -> str:
    """Remove the drop from one region; returns why it is not done yet ("" when done)."""
    view = rendering.RegionView.of(region.name, region.spec)
    record = rendering.drop_record(drop.name, drop.namespace, drop.spec, view)
    home = rules is not None and region.name == rules.home_region
    try:
        redis = rt.redis.get(_redis_url(region))
        if home and rules is not None:
            standing = await auctions.standing(redis, drop.name)
            if standing and not rules.cancelled and now * 1000 < standing.ends_at_ms:
                # Deleting a drop that is still open cancels it first: no bid may be accepted
                # after its resource is gone.
                await auctions.publish(redis, replace(rules, cancelled=True), home=True)
            backlog = await auctions.outbox_backlog(redis, drop.name)
            if backlog:
                return f"{region.name}: {backlog} outcomes not yet relayed to Kafka"
        await auctions.remove(redis, drop.name, home=home)
        k = await rt.blocking(rt.clusters.for_region, region.name, region.spec.cluster)
        await rt.blocking(k.delete, kube.path_of(record))
    except (kube.Unreachable, kube.KubeError, ClusterConfigError) as exc:
        return f"{region.name} API: {exc}"
    except (RedisError, OSError) as exc:
        return f"{region.name} Redis: {type(exc).__name__}: {exc}"
    except drop_rules.RulesFrozenError as exc:
        return f"{region.name}: could not cancel: {exc}"
    log.info("drop %s/%s: removed from %s", drop.namespace, drop.name, region.name)
    return ""


async def clean_up(
    drop: DropInput, known: dict[str, RegionInfo], rt: Runtime, now: float
) -> list[str]:
    """Remove the drop from every region it reached; returns what is still pending (empty
    when done). Regions listed in :data:`ABANDON_ANNOTATION`, and Regions that no longer
    exist, are skipped."""
    skip = abandoned(drop)
    try:
        rules: Rules | None = _rules(drop)
    except drop_rules.ManifestError:
        rules = None  # never opened anywhere; the records alone are left to remove
    members = [r for r in participating(drop.spec, known) if r in known and not {"*", r} & skip]
    pending = await asyncio.gather(
        *(_clean_region(drop, rules, known[r], rt, now) for r in members)
    )
    return [p for p in pending if p]


def cleanup_status(drop: DropInput, pending: list[str], now: float) -> Obj:
    """The Drop's conditions while its finalizer runs: what is left, and the way out."""
    message = (
        "; ".join(pending)
        + f" (a region gone for good can be skipped: annotate {ABANDON_ANNOTATION}=<region>)"
        if pending
        else "every region is clean"
    )
    observed = [Observed("CleanedUp", not pending, "Pending" if pending else "Done", message)]
    return {"conditions": conditions.merge(drop.status.conditions, observed, now, drop.generation)}


def phase_event(before: DropStatus, after: Obj) -> tuple[str, str] | None:
    """The Kubernetes event (reason, message) a phase change deserves, if the phase changed:
    what ``kubectl describe drop`` shows as the drop's history. ``after``: the new status."""
    if not after.get("phase"):
        return None
    phase = Phase(after["phase"])
    if phase == before.phase:
        return None
    asked = ", ".join(
        f"{r} {s.get('gatewayReplicas', '-')}/{s.get('fanoutReplicas', '-')}"
        for r, s in sorted((after.get("regions") or {}).items())
    )
    messages = {
        Phase.SCHEDULED: f"rules in {after.get('regionsReady', '?')} regions",
        Phase.PRE_SCALING: f"capacity raised ahead of the crowd; gateway/fan-out floors: {asked}",
        Phase.LIVE: "bidding is open",
        Phase.CLOSED: (
            f"bidding closed at {after.get('liveEndsAt', '?')}: high bid "
            f"{after.get('highBid', 0)} from {after.get('bids', 0)} bids, "
            + (f"won by {after['winnerAlias']}" if after.get("winnerAlias") else "no winner")
        ),
        Phase.CANCELLED: "cancelled; no more bids are accepted",
        Phase.FAILED: "the drop's rules cannot be used; see its conditions",
    }
    return str(phase), messages[phase]
