"""What one frame of ``gavel drops watch`` shows, made from raw readings. Pure.

:mod:`.gather` reads the hub, the home Redis, every participating region's observer counts and
the audit writers' ``/metrics`` into the dataclasses
here; :func:`frame` turns two consecutive readings into what is shown (rates need two), and
:mod:`.render` draws it. Keeping the arithmetic here (rates, countdown, phase without an
operator, money) lets unit tests pin every number a person reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from gavel.observer_hash import RegionObservers
from gavel.resources.phase import Phase
from gavel.state_hash import Counts

ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
                          "UGX", "VND", "VUV", "XAF", "XOF", "XPF"})  # fmt: skip
"""ISO 4217 currencies without minor units: their amounts are whole units."""


@dataclass(frozen=True, slots=True)
class DropInfo:
    """The Drop as the hub has it: spec, and the status the operator writes (if one runs)."""

    name: str
    namespace: str
    home: str
    regions: tuple[str, ...]
    title: str | None = None
    phase: str | None = None
    regions_ready: str | None = None

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> DropInfo:
        meta, spec, status = obj["metadata"], obj["spec"], obj.get("status") or {}
        return cls(
            name=meta["name"],
            namespace=meta.get("namespace") or "default",
            home=spec["homeRegion"],
            regions=tuple(spec.get("regions") or ()),
            title=(spec.get("product") or {}).get("title"),
            phase=status.get("phase"),
            regions_ready=status.get("regionsReady"),
        )


@dataclass(frozen=True, slots=True)
class Reading:
    """The home Redis at one moment (its own clock, the one bids are decided on)."""

    now_ms: int
    currency: str
    reserve: int
    opens_at_ms: int
    ends_at_ms: int
    """The live end: soft close moves it."""
    cancelled: bool = False
    high_bid: int | None = None
    leader_alias: str | None = None
    counts: Counts = field(default_factory=Counts)
    backlog: int = 0
    """Entries in the drop's outbox stream: the relay deletes each once Kafka has it."""
    oldest_backlog_ms: int | None = None
    """When the oldest waiting entry was decided (its stream id's time)."""


def participating(drop: DropInfo, all_regions: tuple[str, ...]) -> tuple[str, ...]:
    """The regions whose observers count: the Drop's ``regions``, or (none listed: every
    region takes part) ``all_regions``, and always its home."""
    listed = drop.regions or all_regions
    return tuple(sorted({drop.home, *listed}))


@dataclass(frozen=True, slots=True)
class Observed:
    """One region's observers of the drop (from that region's Redis), or why there are none."""

    figures: RegionObservers | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Scrape:
    """One number from a workload's ``/metrics``, or why there is none."""

    value: float | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Readings:
    """Everything one refresh read."""

    drop: DropInfo
    redis: Reading | None
    """None: the drop is not opened in its home Redis (or that Redis could not be read)."""
    redis_error: str | None = None
    observers: Mapping[str, Observed] = field(default_factory=dict)
    """Per participating region: the drop's observers there, as its fan-outs recorded them."""
    audit_lag: Mapping[str, Scrape] = field(default_factory=dict)
    """Per audit writer given: records of gavel.audit not yet written and committed."""
    hub_error: str | None = None
    """The hub failed this time; ``drop`` is what it said the time before."""


@dataclass(frozen=True, slots=True)
class Frame:
    """A refresh, ready to draw."""

    readings: Readings
    phase: str
    phase_source: str
    """``hub`` (the operator's status) or ``redis`` (derived from the rules and the clock)."""
    countdown: str
    bids_per_s: float | None
    attempts_per_s: float | None


def phase_from_redis(r: Reading) -> Phase:
    """The phase the rules and the Redis clock imply, for drops no operator reports on (the
    operator's own phases add PreScaling, which only it knows)."""
    if r.cancelled:
        return Phase.CANCELLED
    if r.now_ms < r.opens_at_ms:
        return Phase.SCHEDULED
    if r.now_ms < r.ends_at_ms:
        return Phase.LIVE
    return Phase.CLOSED


def duration(ms: int) -> str:
    """``2d 03:04:05``, ``03:04:05`` or ``04:05`` (whole seconds, rounded down)."""
    s = max(ms, 0) // 1000
    days, s = divmod(s, 86_400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    clock = f"{hours:02d}:{minutes:02d}:{s:02d}" if hours or days else f"{minutes:02d}:{s:02d}"
    return f"{days}d {clock}" if days else clock


def countdown(r: Reading) -> str:
    if r.cancelled:
        return "cancelled"
    if r.now_ms < r.opens_at_ms:
        return f"opens in {duration(r.opens_at_ms - r.now_ms)}"
    if r.now_ms < r.ends_at_ms:
        return f"ends in {duration(r.ends_at_ms - r.now_ms)}"
    return f"ended {duration(r.now_ms - r.ends_at_ms)} ago"


def per_second(before: int, after: int, elapsed_ms: int) -> float | None:
    """A counter's rate between two readings; None without elapsed time or after a reset."""
    if elapsed_ms <= 0 or after < before:
        return None
    return (after - before) * 1000 / elapsed_ms


def frame(current: Readings, previous: Readings | None) -> Frame:
    """The frame for ``current``; ``previous`` (the refresh before) gives the rates."""
    r, p = current.redis, previous.redis if previous else None
    bids_rate = attempts_rate = None
    if r is not None and p is not None:
        elapsed = r.now_ms - p.now_ms
        bids_rate = per_second(p.counts.bids, r.counts.bids, elapsed)
        attempts_rate = per_second(p.counts.attempts, r.counts.attempts, elapsed)
    if current.drop.phase:
        phase, source = current.drop.phase, "hub"
    elif r is not None:
        phase, source = str(phase_from_redis(r)), "redis"
    else:
        phase, source = "unknown", "none"
    return Frame(
        readings=current,
        phase=phase,
        phase_source=source,
        countdown=countdown(r) if r is not None else "",
        bids_per_s=bids_rate,
        attempts_per_s=attempts_rate,
    )


def money(amount: int | None, currency: str) -> str:
    """``EUR 25,000.00`` from minor units (whole units for zero-decimal currencies)."""
    if amount is None:
        return "no bids yet"
    if currency in ZERO_DECIMAL:
        return f"{currency} {amount:,}"
    major, minor = divmod(amount, 100)
    return f"{currency} {major:,}.{minor:02d}"


def metric_total(text: str, name: str) -> float | None:
    """The sum of every sample of ``name`` in a Prometheus text exposition (None: absent)."""
    total, found = 0.0, False
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                total += sample.value
                found = True
    return total if found else None


def clock(ms: int) -> str:
    """``10:00:00`` (UTC) of a Redis clock reading."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%H:%M:%S")


@dataclass(frozen=True, slots=True)
class ListRow:
    """One line of ``gavel drops list``."""

    name: str
    namespace: str
    phase: str
    starts: str
    ends: str
    home: str
    high_bid: str
    regions_ready: str


def _stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _spec_time(value: object) -> str:
    """A spec timestamp (RFC 3339) in :func:`_stamp`'s form; as given if it is not one."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return _stamp(int(parsed.timestamp() * 1000))


def list_row(obj: Mapping[str, Any], reading: Reading | None, redis_error: str | None) -> ListRow:
    """A Drop from the hub with its home Redis' state: the end is the live one where Redis has
    it (soft close moves it), the phase the operator's or else what Redis implies."""
    info, spec = DropInfo.of(obj), obj["spec"]
    if reading is not None:
        phase = info.phase or f"{phase_from_redis(reading)} (redis)"
        ends, high = _stamp(reading.ends_at_ms), money(reading.high_bid, reading.currency)
    else:
        phase = info.phase or "unknown"
        ends = _spec_time(spec.get("endsAt", ""))
        high = f"({redis_error})" if redis_error else "not opened"
    participating = len(info.regions) or "all"
    return ListRow(
        name=info.name,
        namespace=info.namespace,
        phase=phase,
        starts=_spec_time(spec.get("startsAt", "")),
        ends=ends,
        home=info.home,
        high_bid=high,
        regions_ready=info.regions_ready or f"?/{participating}",
    )
