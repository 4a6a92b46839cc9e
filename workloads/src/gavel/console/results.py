"""A drop's result, from its audit trail, checked against its final state in Redis. Pure.

``gavel drops results`` (:mod:`gavel.cli.drops_commands`) reads every attempt of the drop from
Cassandra and the home Redis' state through :mod:`.trail`; :func:`tally` makes the result from
the trail alone, :func:`disagreements` holds it against what Redis decided (two records kept by
different paths: Redis' counters beside each decision, the trail through the outbox, the relay,
Kafka and the audit writer), and the formatters print it as a table, CSV or JSON. Observers at
peak per region come from each participating region's Redis, where its fan-outs record them
(:mod:`gavel.observer_hash`); they have no second record to be checked against.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from gavel.auction import Outcome, Reason
from gavel.console.snapshot import Observed, Reading, clock, money
from gavel.events import BidEvent, leader_alias

EDGE_REASONS = frozenset({Reason.UNAVAILABLE, Reason.UNKNOWN_DROP})
"""Decided by a gateway without the home Redis (disk outbox): in the trail, not in Redis."""


@dataclass(frozen=True, slots=True)
class RegionFigures:
    region: str
    bidders: int
    """Distinct bidders whose attempts that region's gateways took."""
    attempts: int
    observers_at_peak: int | None = None
    """The most observers the region's fan-outs held at once; None: not read (see the error),
    or the region does not take part."""
    observers_peak_ms: int | None = None
    """When that peak was recorded (the region's Redis clock); None before any observer."""
    observers_error: str | None = None


@dataclass(frozen=True, slots=True)
class Result:
    drop: str
    currency: str
    final: bool
    """The drop had ended (Redis clock) when read; otherwise the figures are provisional."""
    winner: str | None
    """The winning bidder's id (for fulfilment), None without an accepted bid."""
    winner_alias: str | None
    """The alias observers saw."""
    final_price: int | None
    reserve: int
    reserve_met: bool
    bids: int
    attempts: int
    by_reason: dict[str, int]
    regions: tuple[RegionFigures, ...] = field(default=())


def tally(
    drop: str,
    trail: Iterable[BidEvent],
    final: Reading,
    observers: Mapping[str, Observed] | None = None,
) -> Result:
    """The result the trail tells (the reading gives only the currency, reserve and clock), with
    each region's observers at peak as its Redis has them."""
    attempts = list(trail)
    accepted = [e for e in attempts if e.decision.outcome is Outcome.ACCEPTED]
    last = max(accepted, key=lambda e: e.decision.seq, default=None)
    by_reason = Counter(str(e.decision.reason) for e in attempts)
    bidders: dict[str, set[str]] = {}
    per_region: Counter[str] = Counter()
    for e in attempts:
        bidders.setdefault(e.region, set()).add(e.bidder)
        per_region[e.region] += 1
    return Result(
        drop=drop,
        currency=final.currency,
        final=final.now_ms >= final.ends_at_ms or final.cancelled,
        winner=last.bidder if last else None,
        winner_alias=leader_alias(drop, last.bidder) if last else None,
        final_price=last.amount if last else None,
        reserve=final.reserve,
        reserve_met=last is not None and last.amount >= final.reserve,
        bids=len(accepted),
        attempts=len(attempts),
        by_reason=dict(sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))),
        regions=tuple(
            _region(r, len(bidders.get(r, ())), per_region[r], (observers or {}).get(r))
            for r in sorted({*per_region, *(observers or {})})
        ),
    )


def _region(region: str, bidders: int, attempts: int, seen: Observed | None) -> RegionFigures:
    if seen is None:
        return RegionFigures(region, bidders, attempts)
    if seen.figures is None:
        return RegionFigures(region, bidders, attempts, observers_error=seen.error or "no data")
    f = seen.figures
    return RegionFigures(region, bidders, attempts, f.peak, f.peak_ms)


def unread(result: Result) -> list[str]:
    """The regions whose observers could not be read, each with why."""
    return [
        f"observers in {r.region}: {r.observers_error}"
        for r in result.regions
        if r.observers_error is not None
    ]


def disagreements(result: Result, final: Reading) -> list[str]:
    """Where the trail and the final Redis state differ; empty when they agree."""
    problems = []
    if final.backlog:
        problems.append(
            f"{final.backlog} attempts are still in the outbox (the relay has not handed them "
            "to Kafka yet): the audit trail is not complete, try again shortly"
        )
    if result.final_price != final.high_bid:
        problems.append(f"final price: trail {result.final_price}, Redis {final.high_bid}")
    if result.winner_alias != final.leader_alias:
        problems.append(f"winner: trail {result.winner_alias}, Redis {final.leader_alias}")
    counts = final.counts
    if result.bids != counts.bids:
        problems.append(f"accepted bids: trail {result.bids}, Redis {counts.bids}")
    decided = result.attempts - sum(result.by_reason.get(str(r), 0) for r in EDGE_REASONS)
    if decided != counts.attempts:
        problems.append(f"attempts decided in Redis: trail {decided}, Redis {counts.attempts}")
    # Drops opened before Redis counted refusals by reason have no counters to compare with.
    if counts.refused or counts.attempts == counts.bids:
        for reason in sorted({*counts.refused, *result.by_reason}):
            if reason == Reason.ACCEPTED or reason in EDGE_REASONS:
                continue
            trail, redis = result.by_reason.get(reason, 0), counts.refused.get(reason, 0)
            if trail != redis:
                problems.append(f"refused as {reason}: trail {trail}, Redis {redis}")
    return problems


def as_json(result: Result) -> str:
    return json.dumps(asdict(result), indent=2, sort_keys=False)


def as_csv(result: Result) -> str:
    """Long form, one figure a line: ``section,name,value``."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["section", "name", "value"])
    summary: dict[str, Any] = {
        k: v for k, v in asdict(result).items() if k not in ("by_reason", "regions")
    }
    for name, value in summary.items():
        w.writerow(["result", name, "" if value is None else value])
    for reason, n in result.by_reason.items():
        w.writerow(["attempts_by_reason", reason, n])
    for r in result.regions:
        w.writerow(["region_bidders", r.region, r.bidders])
        w.writerow(["region_attempts", r.region, r.attempts])
        if r.observers_at_peak is not None:
            w.writerow(["region_observers_at_peak", r.region, r.observers_at_peak])
    return out.getvalue()


def as_table(result: Result) -> RenderableType:
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    state = Text("final", style="green") if result.final else Text("provisional", style="yellow")
    if not result.final:
        state.append(" (the drop has not ended)", style="dim")
    head.add_row("drop", result.drop)
    head.add_row("result", state)
    winner = f"{result.winner} ({result.winner_alias})" if result.winner else "no winner"
    head.add_row("winner", winner)
    head.add_row("final price", money(result.final_price, result.currency))
    met = "met" if result.reserve_met else "not met"
    head.add_row("reserve", f"{met} ({money(result.reserve, result.currency)})")
    head.add_row("bids", f"{result.bids:,} accepted of {result.attempts:,} attempts")
    reasons = Table(title="attempts by reason", title_justify="left")
    reasons.add_column("reason")
    reasons.add_column("attempts", justify="right")
    for reason, n in result.by_reason.items():
        reasons.add_row(reason, f"{n:,}")
    regions = Table(title="by region (attempts: the gateway that took them)", title_justify="left")
    regions.add_column("region")
    for name in ("bidders", "attempts", "observers at peak", "peak at (UTC)"):
        regions.add_column(name, justify="right")
    for r in result.regions:
        regions.add_row(r.region, f"{r.bidders:,}", f"{r.attempts:,}", *_peak_cells(r))
    return Group(head, reasons, regions)


def _peak_cells(r: RegionFigures) -> tuple[Text | str, str]:
    if r.observers_error is not None:
        return Text(r.observers_error, style="red"), ""
    if r.observers_at_peak is None:
        return Text("not read", style="dim"), ""
    at = clock(r.observers_peak_ms) if r.observers_peak_ms is not None else "—"
    return f"{r.observers_at_peak:,}", at
