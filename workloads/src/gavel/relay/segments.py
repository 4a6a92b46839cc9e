"""Ships the gateway's disk outbox (:mod:`gavel.outbox`) to Kafka.

Called by :mod:`gavel.relay.service` every ``outbox_interval_s``. One pass: close the ``.open``
segments of writers that died (:func:`gavel.outbox.reclaim`), then, oldest first, read each
closed segment, send its records and wait for Kafka's acknowledgement of every one, and only
then delete the file. A crash between the acknowledgement and the delete ships the segment
again on the next start: duplicates, never a loss. A torn last line (its writer died mid-write,
so its request was never answered) is skipped and counted.

One relay per outbox folder: the gateway and its relay share the folder inside one pod.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gavel import outbox
from gavel.relay.metrics import RelayMetrics
from gavel.relay.plan import Record, plan_segment

log = logging.getLogger(__name__)

Deliver = Callable[[Sequence[Record]], Awaitable[None]]
"""Sends records and returns once Kafka acknowledged them all (retrying as long as needed)."""


@dataclass(frozen=True, slots=True)
class Shipped:
    path: Path
    events: int
    skipped: int


async def ship_once(
    folder: Path, deliver: Deliver, metrics: RelayMetrics, reclaim_idle_s: float
) -> list[Shipped]:
    """Reclaim dead writers' segments, then ship and delete every closed segment."""
    for path in await asyncio.to_thread(outbox.reclaim, folder, reclaim_idle_s):
        log.info("closed %s: its writer is gone", path.name)
    shipped: list[Shipped] = []
    for path in await asyncio.to_thread(outbox.closed_segments, folder):
        segment = await asyncio.to_thread(outbox.read_segment, path)
        plan = plan_segment(path.name, segment.events)
        for reason in plan.dead_letters:
            log.error("dead-lettered %s", reason)
        await deliver(plan.records)
        path.unlink(missing_ok=True)
        metrics.entries.labels("outbox").inc(plan.events)
        metrics.batches.labels("outbox").inc()
        metrics.dead_letters.inc(len(plan.dead_letters))
        if segment.skipped:
            metrics.skipped_lines.inc(segment.skipped)
            log.warning("%s: skipped %d line(s) that did not parse", path.name, segment.skipped)
        shipped.append(Shipped(path, plan.events, segment.skipped))
    return shipped


def waiting_segments(folder: Path) -> int:
    """Segments not yet shipped: closed ones and those still open."""
    if not folder.is_dir():
        return 0
    return sum(
        1
        for p in folder.iterdir()
        if p.suffix in (outbox.OPEN_SUFFIX, outbox.CLOSED_SUFFIX) and p.is_file()
    )
