"""One herd, start to verdict: open a drop, surge observers, drive bidders, read the stores back,
check. Called by ``gavel herd`` (:mod:`gavel.cli.herd_commands`) and by the dev stack's herd,
which first starts the workloads on the local stack.

The herd talks to a deployment only through its public faces (each region's gateway and
fan-out URLs), plus what opening and auditing a drop need: the regions' Redis (to open the drop
as ``gavel drops open`` does) and the audit keyspace (to read the trail back). Its own CPU time
is measured per phase, so its cost per observer and per bid can be scaled on paper.
"""

from __future__ import annotations

import asyncio
import gc
import random
import resource
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gavel import drops, token_client
from gavel.auction import IncrementStep, Rules
from gavel.audit.settings import CassandraTarget
from gavel.herd import stores
from gavel.herd.bidders import Bidder, Market, RestSender, Sender, Tally, WebSocketSender
from gavel.herd.checker import Verdict, check
from gavel.herd.latency import Histogram, Summary
from gavel.herd.observers import Observer
from gavel.herd.records import Channel, RegionSightings
from gavel.herd.series import Mark, MarkKind, Series
from gavel.herd.shape import Profile, Sizes, Timeline, bidders, spread

START_PRICE = 1_000
INCREMENTS = (IncrementStep(0, 100), IncrementStep(100_000, 1_000))
SURGE_SHARE = 0.8
"""Observers are all connected within this share of the surge, before the open."""
SETTLE_S = 60.0
"""How long observers may take to reach the final price after the drop closed: a fan-out
restarted late in the drop first catches up with Kafka (seconds here, more on a long topic)."""
AUDIT_S = 90.0
"""How long the audit trail may take to hold every answered attempt (a killed audit writer
restarts and resumes from its last committed offset)."""


@dataclass(frozen=True)
class Target:
    """A running Gavel as the herd sees it."""

    gateways: dict[str, str]
    """Region -> ``http://host:port`` of its gateway."""
    fanouts: dict[str, str]
    """Region -> ``ws://host:port`` of its fan-out."""
    redis_urls: dict[str, str]
    token_mint_url: str
    """The token issuer's mint endpoint: one token per bidder, asked for before the clock runs."""
    audit: CassandraTarget
    home: str


@dataclass(frozen=True)
class Herd:
    target: Target
    sizes: Sizes
    profile: Profile
    seed: int
    drop_id: str = field(default_factory=lambda: f"herd-{uuid.uuid4().hex[:10]}")


@dataclass
class Result:
    herd: Herd
    verdict: Verdict
    phases: dict[str, float]
    """Seconds each phase took, on the herd's clock."""
    cpu_s: dict[str, float]
    """The herd process's own CPU seconds per phase."""
    counts: dict[str, int]
    loop_lag: Summary
    """How late the herd's own event loop ran a 50 ms timer: when this is high, the latencies
    the clients measured include their own queueing, and the client saturated first."""
    started_ms: float = 0.0
    """Wall clock at the herd's start: second 0 of :attr:`series` and of the marks."""
    series: Series = field(default_factory=Series)
    regions: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per region: observers, deliveries, resyncs, skipped prices, staleness and latencies."""
    cdfs: dict[str, dict[str, list[tuple[float, float]]]] = field(default_factory=dict)
    """``ack`` and ``observer`` latency distributions per region, as (ms, share) points."""
    marks: list[Mark] = field(default_factory=list)

    def cost(self) -> dict[str, float]:
        """Client CPU per observer connected (the surge) and per bid attempt and per delivery
        (the bidding phase: both share that CPU, so each figure is an upper bound)."""
        c, cpu = self.counts, self.cpu_s
        return {
            "cpu_us_per_observer_connect": 1e6 * cpu["surge"] / max(1, c["observers"]),
            "cpu_us_per_bid_upper": 1e6 * cpu["bidding"] / max(1, c["bids_sent"]),
            "cpu_us_per_delivery_upper": 1e6 * cpu["bidding"] / max(1, c["deliveries"]),
        }

    def as_json(self) -> dict[str, Any]:
        h = self.herd
        return {
            "drop": h.drop_id,
            "seed": h.seed,
            "profile": h.profile.name,
            "sizes": {
                "bidders": h.sizes.bidders,
                "observers": h.sizes.observers,
                "regions": list(h.sizes.regions),
                "duration_s": h.sizes.duration_s,
            },
            "phases_s": self.phases,
            "cpu_s": self.cpu_s,
            "counts": self.counts,
            "cost": self.cost(),
            "client_loop_lag_ms": self.loop_lag.as_dict(),
            "verdict": self.verdict.as_json(),
            "started_ms": round(self.started_ms),
            "regions": self.regions,
            "cdf": self.cdfs,
            "series": self.series.as_json(),
            "marks": [m.as_json() for m in self.marks],
        }


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _raise_fd_limit() -> None:
    # Every observer and bidder is a socket: take the hard limit the machine allows.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rules_for(herd: Herd, now_ms: int, timeline: Timeline) -> Rules:
    p = herd.profile
    opens = now_ms + int(timeline.opens_s * 1000)
    return Rules(
        drop_id=herd.drop_id,
        home_region=herd.target.home,
        currency="EUR",
        start_price=START_PRICE,
        reserve=START_PRICE * 50,
        increments=INCREMENTS,
        opens_at_ms=opens,
        ends_at_ms=now_ms + int(timeline.ends_s * 1000),
        hard_stop_ms=now_ms + int(timeline.hard_stop_s * 1000),
        soft_window_ms=int(timeline.soft_window_s * 1000),
        soft_extension_ms=int(min(p.soft_extension_s, timeline.soft_window_s) * 1000),
    )


async def _surge(
    observers: list[Observer], stop: asyncio.Event, over_s: float
) -> list[asyncio.Task[None]]:
    """Start ``observers`` evenly over ``over_s`` seconds, in small batches."""
    tasks: list[asyncio.Task[None]] = []
    batches = max(1, min(len(observers), int(over_s * 20)))
    size = -(-len(observers) // batches) if observers else 1
    for i in range(0, len(observers), size):
        tasks += [asyncio.create_task(o.run(stop)) for o in observers[i : i + size]]
        await asyncio.sleep(over_s / batches)
    return tasks


async def _caught_up(
    observers: list[Observer], seq: int, high: int | None, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all((o.view.seq, o.view.high_bid) == (seq, high) for o in observers):
            return
        await asyncio.sleep(0.2)


def _sender(channel: Channel, gateway: str, drop: str, token: str) -> Sender:
    if channel is Channel.WEBSOCKET:
        return WebSocketSender(gateway, drop, token)
    return RestSender(gateway, drop, token)


async def _tokens(herd: Herd) -> dict[str, str]:
    """A token per bidder from the issuer, asked for before the herd's clock starts."""
    names = [spec.name for spec in bidders(herd.sizes, herd.profile, herd.seed)]
    minted = await asyncio.to_thread(token_client.mint, herd.target.token_mint_url, names)
    return dict(zip(names, minted, strict=True))


async def run(herd: Herd, say: Callable[[str], None] = lambda _: None) -> Result:
    """Run ``herd`` against its target and return the verdict with the herd's own figures."""
    _raise_fd_limit()
    tokens = await _tokens(herd)
    t0, started_ms = time.monotonic(), time.time() * 1000

    def clock() -> float:
        return time.monotonic() - t0

    sizes, profile, target = herd.sizes, herd.profile, herd.target
    rng = random.Random(herd.seed)
    timeline = Timeline.of(sizes, profile)
    rules = rules_for(herd, int(time.time() * 1000), timeline)
    opened = await drops.open_everywhere(rules, {r: target.redis_urls[r] for r in sizes.regions})
    say(
        f"drop {herd.drop_id} opened ({', '.join(f'{r} {o}' for r, o in opened.items())}); "
        f"opens in {timeline.opens_s:.0f} s, ends at +{timeline.ends_s:.0f} s"
    )
    cpu, phases = {"start": _cpu()}, {}

    sightings = {r: RegionSightings(r) for r in sizes.regions}
    observers = [
        Observer(
            target.fanouts[r],
            herd.drop_id,
            sightings[r].observer(f"{r}-{i}"),
            sightings[r],
            random.Random(rng.random()),
        )
        for r, n in spread(sizes.observers, sizes.regions).items()
        for i in range(n)
    ]
    rng.shuffle(observers)
    stop = asyncio.Event()
    lag, series = Histogram(), Series()
    probe = asyncio.create_task(_probe_lag(lag))
    sampler = asyncio.create_task(_sample(series, sightings, clock))
    watching = await _surge(observers, stop, timeline.opens_s * SURGE_SHARE)
    await asyncio.sleep(max(0.0, timeline.opens_s - clock()))
    connected = sum(o.view.connects > 0 for o in observers)
    cpu["surge"], phases["surge"] = _cpu() - cpu["start"], clock()
    gc.freeze()  # the observers are long-lived: keep full collections from rescanning them
    say(f"{connected}/{len(observers)} observers connected; the drop opens")

    market, tally = Market(START_PRICE, rules.ends_at_ms), Tally(clock, series=series)
    crowd = [
        Bidder(
            spec,
            _sender(
                spec.channel,
                target.gateways[spec.region],
                herd.drop_id,
                tokens[spec.name],
            ),
            market,
            tally,
            random.Random(rng.random()),
        )
        for spec in bidders(sizes, profile, herd.seed)
    ]
    cuts = asyncio.create_task(_cut_some(observers, timeline, profile, rng, clock))
    await asyncio.gather(*(b.run(timeline, profile, clock) for b in crowd))
    cuts.cancel()
    home = target.gateways[target.home]
    status = await stores.until_closed(home, herd.drop_id, time.monotonic() + timeline.hard_stop_s)
    final = await stores.final_state(home, herd.drop_id)
    phases["bidding"] = clock() - phases["surge"]
    say(f"bidding over (drop {status}): {len(tally.answers)} answers, final seq {final.seq}")
    await _caught_up(observers, final.seq, final.high_bid, timeout_s=SETTLE_S)
    cpu["bidding"] = _cpu() - cpu["start"] - cpu["surge"]
    phases["observers_settled"] = clock() - phases["surge"] - phases["bidding"]
    stop.set()
    probe.cancel()
    sampler.cancel()
    await asyncio.gather(*watching)

    expected = {a.event_id for a in tally.answers if a.event_id}
    audit, waited = await stores.audit_trail(
        target.audit, herd.drop_id, expected, timeout_s=AUDIT_S
    )
    phases["audit_read"] = waited
    say(f"audit trail read back: {len(audit)} rows in {waited:.1f} s")
    verdict = check(answers=tally.answers, audit=audit, final=final, sightings=sightings)
    counts = {
        "observers": len(observers),
        "observers_connected": connected,
        "observer_connects": sum(o.view.connects for o in observers),
        "observer_refusals": sum(o.refused for o in observers),
        "deliveries": sum(o.view.messages for o in observers),
        "resyncs": sum(o.view.resyncs for o in observers),
        "bids_sent": len(tally.answers) + tally.unanswered,
        "answers": len(tally.answers),
        "unanswered": tally.unanswered,
        **_by_reason(tally),
    }
    marks = [
        Mark(timeline.opens_s, "opens", MarkKind.PHASE),
        Mark(timeline.ends_s - timeline.soft_window_s, "soft-close window", MarkKind.PHASE),
        Mark(timeline.ends_s, "planned end", MarkKind.PHASE),
        Mark(phases["surge"] + phases["bidding"], f"drop {status}", MarkKind.PHASE),
    ]
    return Result(
        herd,
        verdict,
        phases,
        cpu,
        counts,
        lag.summary(),
        started_ms=started_ms,
        series=series,
        regions={r: region_figures(s, tally.ack.get(r)) for r, s in sightings.items()},
        cdfs={
            "ack": {r: h.cdf() for r, h in sorted(tally.ack.items())},
            "observer": {r: s.latency.cdf() for r, s in sightings.items()},
        },
        marks=marks,
    )


def region_figures(s: RegionSightings, ack: Histogram | None) -> dict[str, Any]:
    """What one region's observers got (and its bidders' acknowledgement latency)."""
    delivered = sum(v.messages for v in s.views)
    skipped = sum(v.skipped for v in s.views)
    return {
        "observers": len(s.views),
        "deliveries": delivered,
        "resyncs": sum(v.resyncs for v in s.views),
        "skipped_prices": skipped,
        "skipped_share": round(skipped / max(1, skipped + delivered), 5),
        "staleness_ms": s.staleness().summary().as_dict(),
        "observer_latency_ms": s.latency.summary().as_dict(),
        "ack_ms": (ack or Histogram()).summary().as_dict(),
    }


async def _sample(
    series: Series, sightings: dict[str, RegionSightings], clock: Callable[[], float]
) -> None:
    """Once a second, what the observers' counters moved by: a few sums over the views,
    nothing per message."""
    before: dict[str, tuple[int, int]] = {}
    while True:
        await asyncio.sleep(1.0 - clock() % 1.0)
        second = int(clock()) - 1  # the second that just ended
        for r, s in sightings.items():
            delivered = sum(v.messages for v in s.views)
            skipped = sum(v.skipped for v in s.views)
            d0, k0 = before.get(r, (0, 0))
            before[r] = (delivered, skipped)
            series.put(f"observers/{r}", second, s.connected)
            series.put(f"deliveries/{r}", second, delivered - d0)
            series.put(f"skipped/{r}", second, skipped - k0)
            series.put(f"stalest_ms/{r}", second, round(s.stalest_ms, 1))
            s.stalest_ms = 0.0


async def _probe_lag(into: Histogram, every_s: float = 0.05) -> None:
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + every_s
        await asyncio.sleep(every_s)
        into.add((loop.time() - due) * 1000)


def _by_reason(tally: Tally) -> dict[str, int]:
    out: dict[str, int] = {}
    for a in tally.answers:
        key = f"answers_{a.reason or a.status}" + ("_duplicate" if a.duplicate else "")
        out[key] = out.get(key, 0) + 1
    return out


async def _cut_some(
    observers: list[Observer],
    timeline: Timeline,
    profile: Profile,
    rng: random.Random,
    clock: Callable[[], float],
) -> None:
    """Half-way through the steady phase, cut a share of the observers' sockets: they must come
    back with ``since`` and miss nothing."""
    middle = (timeline.opens_s + timeline.ends_s - timeline.soft_window_s) / 2
    await asyncio.sleep(max(0.0, middle - clock()))
    for o in rng.sample(observers, int(len(observers) * profile.cut_fraction)):
        o.cut()
