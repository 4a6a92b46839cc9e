"""The kopf handlers: thin glue between kopf's events and the reconcilers.

Imported by :mod:`gavel_operator.main`, which runs kopf. Both kinds are reconciled by timers
(level-triggered: every tick compares what should be with what is, so a restart, a missed event
or a region back from the dead all converge the same way); two kopf indexes give every timer
the current Regions and Drops without extra API calls. Only a Drop's deletion is event-driven,
behind the finalizer ``gavel.dev/cleanup``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kopf
import prometheus_client

from gavel import drop_rules
from gavel.resources.drop import DropStatus
from gavel.resources.region import Region
from gavel_operator import conditions, drop_sync, region_sync
from gavel_operator.crds import GROUP, VERSION
from gavel_operator.drop_sync import DropInput, DropMemo
from gavel_operator.region_sync import RegionInfo, RegionMemo
from gavel_operator.runtime import Runtime
from gavel_operator.scheduling import DropPlan
from gavel_operator.settings import OperatorSettings

SETTINGS = OperatorSettings.from_env()
FINALIZER = f"{GROUP}/cleanup"
WORKER_THREADS = 32
"""Blocking cluster calls run in threads; enough that five slow regions never starve the rest."""


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(WORKER_THREADS))
    # Progress and diff-bases in annotations of our own prefix: the status schema is ours
    # (structural, so kopf's status.kopf would be pruned).
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.persistence.finalizer = FINALIZER
    settings.posting.level = logging.WARNING  # log lines of warnings and errors become events
    settings.watching.server_timeout = 60
    # A deleted Region waits for its timer's running tick to end; kopf looks again only every
    # cancellation_polling seconds (60 by default), so a tick caught mid-way held the Region's
    # deletion for a minute. Look again each tick instead.
    settings.background.cancellation_polling = SETTINGS.tick_s
    # Our CRDs are installed before the operator starts (the chart's crds/); not watching
    # CRDs at runtime spares the operator a cluster-wide read of every CRD.
    settings.scanning.disabled = True
    memo.runtime = Runtime.start(SETTINGS)
    if SETTINGS.metrics_port:
        prometheus_client.start_http_server(
            SETTINGS.metrics_port, registry=memo.runtime.metrics.registry
        )


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    await memo.runtime.close()


# Every resource is parsed here, once, into its model (gavel.resources); the reconcilers get
# the models. The API server validated the same schema, so a parse failure is a skew between
# the installed CRD and this operator, reported like bad rules.


def _region(body: kopf.Body) -> RegionInfo:
    return RegionInfo.of(Region.model_validate(dict(body)))


@kopf.index(GROUP, VERSION, "regions")
def regions(name: str, body: kopf.Body, **_: Any) -> Any:
    return {name: _region(body)}


@kopf.index(GROUP, VERSION, "drops")
def drop_plans(body: kopf.Body, **_: Any) -> Any:
    """What Regions size themselves from; a Drop being deleted, or unusable, no longer
    counts."""
    try:
        drop = drop_rules.parse_manifest(dict(body))
    except drop_rules.ManifestError:
        return {}
    if drop.metadata.deletion_timestamp:
        return {}
    return DropPlan.of(drop.spec, drop.status)


def _known(index: kopf.Index[str, RegionInfo]) -> dict[str, RegionInfo]:
    return {name: info for name in index for info in index[name]}


def _patch_changes(patch: kopf.Patch, status: kopf.Status, new: dict[str, Any] | None) -> None:
    """Patch only what changed, so an idle tick costs no API call."""
    for key, value in conditions.merge_patch(dict(status), new or {}).items():
        patch.status[key] = value


# kopf passes its indexes as keyword arguments named after them, which its handler protocols
# cannot express; hence the arg-type ignores.
@kopf.timer(GROUP, VERSION, "regions", interval=SETTINGS.tick_s, initial_delay=0)  # type: ignore[arg-type]
async def region_tick(
    *,
    body: kopf.Body,
    name: str,
    status: kopf.Status,
    memo: kopf.Memo,
    patch: kopf.Patch,
    regions: kopf.Index[str, RegionInfo],
    drop_plans: kopf.Index[None, DropPlan],
    **_: Any,
) -> None:
    if "region" not in memo:
        memo.region = RegionMemo()
    known = _known(regions)
    me = _region(body)
    plans = list(drop_plans.get(None, []))
    peers = [known.get(n, me) for n in sorted({*known, name})]
    with memo.runtime.metrics.reconcile_seconds.labels("Region").time():
        new = await region_sync.reconcile(
            me, peers=peers, plans=plans, rt=memo.runtime, memo=memo.region, now=time.time()
        )
    for event in (
        region_sync.reachability_event(me.status, new),
        region_sync.pods_event(me.status, new),
    ):
        if event:
            kopf.event(body, type=event[0], reason=event[1], message=event[2])
    _patch_changes(patch, status, new)


def _drop(body: kopf.Body) -> DropInput:
    """The Drop parsed; raises drop_rules.ManifestError naming what does not parse."""
    drop = drop_rules.parse_manifest(dict(body))
    meta = drop.metadata
    return DropInput(
        meta.name, meta.namespace, drop.spec, drop.status, meta.generation, meta.annotations
    )


def _status_or_empty(body: kopf.Body) -> DropStatus:
    """The status of a Drop whose spec does not parse, for its conditions; empty if it does
    not parse either."""
    try:
        return DropStatus.model_validate(dict(body.status))
    except ValueError:
        return DropStatus()


@kopf.timer(GROUP, VERSION, "drops", interval=SETTINGS.tick_s, initial_delay=0)  # type: ignore[arg-type]
async def drop_tick(
    *,
    body: kopf.Body,
    memo: kopf.Memo,
    patch: kopf.Patch,
    regions: kopf.Index[str, RegionInfo],
    **_: Any,
) -> None:
    if "drop" not in memo:
        memo.drop = DropMemo()
    now, metrics = time.time(), memo.runtime.metrics
    try:
        drop = _drop(body)
    except drop_rules.ManifestError as exc:
        status = _status_or_empty(body)
        new = drop_sync.failed_status(status, int(body.meta.get("generation", 0)), str(exc), now)
        metrics.set_phase(str(body.meta["namespace"]), str(body.meta["name"]), new["phase"])
        _patch_changes(patch, body.status, new)
        return
    with metrics.reconcile_seconds.labels("Drop").time():
        new = await drop_sync.reconcile(drop, _known(regions), memo.runtime, memo.drop, now)
    metrics.set_phase(drop.namespace, drop.name, new["phase"])
    event = drop_sync.phase_event(drop.status, new)
    if event:
        # kopf.event, not kopf.info: info obeys posting.level, which keeps log lines out.
        kopf.event(body, type="Normal", reason=event[0], message=event[1])
    _patch_changes(patch, body.status, new)


@kopf.on.delete(GROUP, VERSION, "drops")  # type: ignore[arg-type]
async def drop_deleted(
    *,
    body: kopf.Body,
    memo: kopf.Memo,
    patch: kopf.Patch,
    regions: kopf.Index[str, RegionInfo],
    retry: int,
    **_: Any,
) -> None:
    try:
        drop = _drop(body)
    except drop_rules.ManifestError:
        # Rules that never parsed were never rolled out: nothing to clean up.
        memo.runtime.metrics.forget_drop(str(body.meta["namespace"]), str(body.meta["name"]))
        return
    now = time.time()
    pending = await drop_sync.clean_up(drop, _known(regions), memo.runtime, now)
    _patch_changes(patch, body.status, drop_sync.cleanup_status(drop, pending, now))
    if not pending:
        memo.runtime.metrics.forget_drop(drop.namespace, drop.name)
    if pending:
        raise kopf.TemporaryError(
            "clean-up pending: " + "; ".join(pending), delay=min(60, 2 ** min(retry, 6))
        )
