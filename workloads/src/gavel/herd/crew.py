"""One client process of a herd: its share of the observers and bidders, start to records.

Run by :mod:`gavel.herd.crews` in each of the herd's client processes (one per core by
default, so twenty thousand observers and a thousand bids/s are not one core's work); the
parent (:mod:`gavel.herd.run`) opens the drop, hands every process a :class:`CrewPlan` on one
shared clock (``time.monotonic`` is the machine's, the same in every process), and merges what
they send back (:mod:`gavel.herd.merge`). A crew surges its observers in before the open,
drives its bidders (closed or open loop), says when its bidding is over, waits for the drop's
final state from the parent, lets its observers catch up with it, and returns its records.
"""

from __future__ import annotations

import asyncio
import gc
import random
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gavel.herd.bidders import Bidder, Market, RestSender, Sender, Tally, WebSocketSender
from gavel.herd.latency import Histogram
from gavel.herd.merge import CrewRecords
from gavel.herd.observers import Observer
from gavel.herd.records import Channel, RegionSightings
from gavel.herd.series import Series
from gavel.herd.shape import BidderSpec, Profile, Timeline

SURGE_SHARE = 0.8
"""Observers are all connected within this share of the surge, before the open."""
SETTLE_S = 60.0
"""How long observers may take to reach the final price after the drop closed: a fan-out
restarted late in the drop first catches up with Kafka (seconds here, more on a long topic)."""


@dataclass(frozen=True)
class CrewPlan:
    """What one client process runs (picklable: sent to it by the parent)."""

    index: int
    drop_id: str
    gateways: dict[str, str]
    fanouts: dict[str, str]
    tokens: dict[str, str]
    """A bidder token for each of its bidders, by name (minted by the parent)."""
    timeline: Timeline
    profile: Profile
    open_loop: bool
    observers: list[tuple[str, str]]
    """(region, name) of each of its observers."""
    bidders: list[BidderSpec]
    seed: int
    t0: float
    """The herd's second 0 on ``time.monotonic`` (the same clock in every process)."""
    start_price: int
    ends_at_ms: int


FinalState = tuple[int, int | None]
"""The drop's final (seq, high bid), which every observer must reach."""


def cpu_now() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def raise_fd_limit() -> None:
    # Every observer and bidder is a socket: take the hard limit the machine allows.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def run_crew(
    plan: CrewPlan,
    tell: Callable[[str, object], None],
    final: Callable[[], Awaitable[FinalState]],
) -> CrewRecords:
    """Run ``plan``: ``tell("surged", connected)`` once its observers are in and the drop
    opened, ``tell("bidding_over", None)`` when its bidders are done; then wait for ``final``
    and return the records."""
    raise_fd_limit()
    rng = random.Random(plan.seed)
    timeline, profile = plan.timeline, plan.profile

    def clock() -> float:
        return time.monotonic() - plan.t0

    cpu0 = cpu_now()
    sightings = {r: RegionSightings(r) for r in plan.fanouts}
    observers = [
        Observer(
            plan.fanouts[r],
            plan.drop_id,
            sightings[r].observer(name),
            sightings[r],
            random.Random(rng.random()),
        )
        for r, name in plan.observers
    ]
    stop = asyncio.Event()
    lag, series = Histogram(), Series()
    probe = asyncio.create_task(_probe_lag(lag))
    sampler = asyncio.create_task(_sample(series, sightings, clock))
    watching = await _surge(observers, stop, timeline.opens_s * SURGE_SHARE - clock())
    await asyncio.sleep(max(0.0, timeline.opens_s - clock()))
    connected = sum(o.view.connects > 0 for o in observers)
    cpu_surge = cpu_now() - cpu0
    gc.freeze()  # the observers are long-lived: keep full collections from rescanning them
    tell("surged", connected)

    market, tally = Market(plan.start_price, plan.ends_at_ms), Tally(clock, series=series)
    crowd = [
        Bidder(
            spec,
            _sender(
                spec.channel,
                plan.gateways[spec.region],
                plan.drop_id,
                plan.tokens[spec.name],
            ),
            market,
            tally,
            random.Random(rng.random()),
        )
        for spec in plan.bidders
    ]
    cuts = asyncio.create_task(_cut_some(observers, timeline, profile, rng, clock))
    drive = Bidder.run_open if plan.open_loop else Bidder.run
    await asyncio.gather(*(drive(b, timeline, profile, clock) for b in crowd))
    cuts.cancel()
    tell("bidding_over", None)
    seq, high = await final()
    await _caught_up(observers, seq, high, timeout_s=SETTLE_S)
    cpu_bidding = cpu_now() - cpu0 - cpu_surge
    stop.set()
    probe.cancel()
    sampler.cancel()
    await asyncio.gather(*watching)
    for s in sightings.values():
        s.decoded.clear()  # a cache of parsed messages: not worth sending back
    return CrewRecords(
        sightings=sightings,
        answers=tally.answers,
        unanswered=tally.unanswered,
        ack=tally.ack,
        series=series,
        lag=lag,
        cpu_s={"surge": cpu_surge, "bidding": cpu_bidding},
        connected_at_open=connected,
        refusals=sum(o.refused for o in observers),
        processes=[
            {
                "index": plan.index,
                "observers": len(observers),
                "bidders": len(crowd),
                "cpu_s": round(cpu_surge + cpu_bidding, 2),
                "wall_s": round(clock(), 1),
                "loop_lag_p99_ms": lag.summary().p99_ms,
            }
        ],
    )


async def _surge(
    observers: list[Observer], stop: asyncio.Event, over_s: float
) -> list[asyncio.Task[None]]:
    """Start ``observers`` evenly over ``over_s`` seconds, in small batches."""
    tasks: list[asyncio.Task[None]] = []
    over_s = max(0.0, over_s)
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
