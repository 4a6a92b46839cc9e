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
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gavel import drops, token_client
from gavel.auction import IncrementStep, Rules
from gavel.audit.settings import CassandraTarget
from gavel.herd import crew, shape, stores
from gavel.herd.checker import Verdict, check
from gavel.herd.crew import CrewPlan
from gavel.herd.crews import Crews, default_processes
from gavel.herd.latency import Histogram, Summary
from gavel.herd.merge import merge
from gavel.herd.records import Answer, RegionSightings
from gavel.herd.series import Mark, MarkKind, Series
from gavel.herd.shape import Profile, Sizes, Timeline, spread

START_PRICE = 1_000
INCREMENTS = (IncrementStep(0, 100), IncrementStep(100_000, 1_000))
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
    client_processes: int = 0
    """How many processes run the clients (0: one per core)."""


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
    processes: list[dict[str, Any]] = field(default_factory=list)
    """Per client process: its observers and bidders, CPU seconds, wall seconds, loop lag."""
    bid_rate: float | None = None
    """The open-loop target (steady bids/s in total), or None for closed-loop bidders."""

    def cost(self) -> dict[str, float]:
        """Client CPU per observer connected (the surge) and per bid attempt and per delivery
        (the bidding phase: both share that CPU, so each figure is an upper bound)."""
        c, cpu = self.counts, self.cpu_s
        return {
            "cpu_us_per_observer_connect": 1e6 * cpu["surge"] / max(1, c["observers"]),
            "cpu_us_per_bid_upper": 1e6 * cpu["bidding"] / max(1, c["bids_sent"]),
            "cpu_us_per_delivery_upper": 1e6 * cpu["bidding"] / max(1, c["deliveries"]),
        }

    def bid_rates(self) -> dict[str, float | None]:
        """Bids answered (or lost) per second from the open to the planned end: the open-loop
        target, the mean reached, and the busiest second."""
        opens, ends = (
            next((m.t_s for m in self.marks if m.label == label), 0.0)
            for label in ("opens", "planned end")
        )
        per_second: dict[int, float] = {}
        for name, points in self.series.group("answers").items():
            del name
            for second, n in points.items():
                if opens <= second < ends:
                    per_second[second] = per_second.get(second, 0) + n
        seconds = max(1, int(ends) - int(opens))
        return {
            "target": self.bid_rate,
            "mean": round(sum(per_second.values()) / seconds, 1),
            "busiest_second": max(per_second.values(), default=0.0),
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
                "bid_rate": h.sizes.bid_rate,
                "client_processes": len(self.processes),
            },
            "phases_s": self.phases,
            "cpu_s": self.cpu_s,
            "counts": self.counts,
            "cost": self.cost(),
            "client_loop_lag_ms": self.loop_lag.as_dict(),
            "client_processes": self.processes,
            "bid_rate": self.bid_rates(),
            "verdict": self.verdict.as_json(),
            "started_ms": round(self.started_ms),
            "regions": self.regions,
            "cdf": self.cdfs,
            "series": self.series.as_json(),
            "marks": [m.as_json() for m in self.marks],
        }


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


async def _tokens(herd: Herd) -> dict[str, str]:
    """A token per bidder from the issuer, asked for before the herd's clock starts."""
    profile = shape.profile_for(herd.profile, herd.sizes)
    names = [spec.name for spec in shape.bidders(herd.sizes, profile, herd.seed)]
    minted = await asyncio.to_thread(token_client.mint, herd.target.token_mint_url, names)
    return dict(zip(names, minted, strict=True))


async def run(herd: Herd, say: Callable[[str], None] = lambda _: None) -> Result:
    """Run ``herd`` against its target and return the verdict with the herd's own figures."""
    tokens = await _tokens(herd)
    crews = Crews(herd.client_processes or default_processes())
    try:
        await crews.hear("ready")
        return await _drive(herd, crews, tokens, say)
    finally:
        crews.close()


async def _drive(
    herd: Herd, crews: Crews, tokens: dict[str, str], say: Callable[[str], None]
) -> Result:
    t0, started_ms, cpu0 = time.monotonic(), time.time() * 1000, crew.cpu_now()

    def clock() -> float:
        return time.monotonic() - t0

    sizes, target = herd.sizes, herd.target
    profile = shape.profile_for(herd.profile, sizes)
    timeline = Timeline.of(sizes, profile)
    rules = rules_for(herd, int(time.time() * 1000), timeline)
    opened = await drops.open_everywhere(rules, {r: target.redis_urls[r] for r in sizes.regions})
    say(
        f"drop {herd.drop_id} opened ({', '.join(f'{r} {o}' for r, o in opened.items())}); "
        f"opens in {timeline.opens_s:.0f} s, ends at +{timeline.ends_s:.0f} s; "
        f"{len(crews)} client processes"
    )
    crews.tell(plans(herd, profile, rules, tokens, t0=t0, n=len(crews)))
    connected = sum(await crews.hear("surged"))
    phases = {"surge": clock()}
    say(f"{connected}/{sizes.observers} observers connected; the drop opens")
    await crews.hear("bidding_over")
    home = target.gateways[target.home]
    status = await stores.until_closed(home, herd.drop_id, time.monotonic() + timeline.hard_stop_s)
    final = await stores.final_state(home, herd.drop_id)
    phases["bidding"] = clock() - phases["surge"]
    crews.tell([(final.seq, final.high_bid)] * len(crews))
    records = merge(await crews.hear("records"))
    phases["observers_settled"] = clock() - phases["surge"] - phases["bidding"]
    answers = records.answers
    say(f"bidding over (drop {status}): {len(answers)} answers, final seq {final.seq}")

    expected = {a.event_id for a in answers if a.event_id}
    audit, waited = await stores.audit_trail(
        target.audit, herd.drop_id, expected, timeout_s=AUDIT_S
    )
    phases["audit_read"] = waited
    say(f"audit trail read back: {len(audit)} rows in {waited:.1f} s")
    sightings = records.sightings
    verdict = check(answers=answers, audit=audit, final=final, sightings=sightings)
    views = [v for s in sightings.values() for v in s.views]
    counts = {
        "observers": len(views),
        "observers_connected": records.connected_at_open,
        "observer_connects": sum(v.connects for v in views),
        "observer_refusals": records.refusals,
        "deliveries": sum(v.messages for v in views),
        "resyncs": sum(v.resyncs for v in views),
        "bids_sent": len(answers) + records.unanswered,
        "answers": len(answers),
        "unanswered": records.unanswered,
        **_by_reason(answers),
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
        {**records.cpu_s, "coordinator": crew.cpu_now() - cpu0},
        counts,
        records.lag.summary(),
        started_ms=started_ms,
        series=records.series,
        regions={r: region_figures(s, records.ack.get(r)) for r, s in sightings.items()},
        cdfs={
            "ack": {r: h.cdf() for r, h in sorted(records.ack.items())},
            "observer": {r: s.latency.cdf() for r, s in sightings.items()},
        },
        marks=marks,
        processes=records.processes,
        bid_rate=sizes.bid_rate,
    )


def plans(
    herd: Herd, profile: Profile, rules: Rules, tokens: dict[str, str], *, t0: float, n: int
) -> list[CrewPlan]:
    """The herd's observers and bidders dealt over ``n`` client processes, reproducibly from
    the seed (the same seed and ``n`` give every process the same share); each process gets
    the tokens of its own bidders (``tokens``: by bidder name)."""
    sizes, target = herd.sizes, herd.target
    timeline = Timeline.of(sizes, profile)
    rng = random.Random(herd.seed)
    watchers = [
        (r, f"{r}-{i}") for r, k in spread(sizes.observers, sizes.regions).items() for i in range(k)
    ]
    rng.shuffle(watchers)
    crowd = shape.bidders(sizes, profile, herd.seed)
    rng.shuffle(crowd)
    return [
        CrewPlan(
            index=i,
            drop_id=herd.drop_id,
            gateways={r: target.gateways[r] for r in sizes.regions},
            fanouts={r: target.fanouts[r] for r in sizes.regions},
            tokens={b.name: tokens[b.name] for b in bidding},
            timeline=timeline,
            profile=profile,
            open_loop=sizes.bid_rate is not None,
            observers=watching,
            bidders=bidding,
            seed=rng.randrange(2**32),
            t0=t0,
            start_price=START_PRICE,
            ends_at_ms=rules.ends_at_ms,
        )
        for i, (watching, bidding) in enumerate(
            zip(shape.deal(watchers, n), shape.deal(crowd, n), strict=True)
        )
    ]


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


def _by_reason(answers: list[Answer]) -> dict[str, int]:
    out: dict[str, int] = {}
    for a in answers:
        key = f"answers_{a.reason or a.status}" + ("_duplicate" if a.duplicate else "")
        out[key] = out.get(key, 0) + 1
    return out
