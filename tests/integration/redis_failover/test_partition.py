"""The home primary is partitioned from its region while bidders keep bidding on both sides.

A region of its own (:mod:`tests.support.partitioned_redis`): its replicas and Sentinels reach
the primary only through a link the test cuts, so the cut is a real partition: no reset, no
refusal, only silence. Two real gateways bid on one drop: the *old side* is pinned to the old
primary through a path that stays open (it keeps trying there), the *new side* finds the
primary through the Sentinels. After the cut the Sentinels promote a replica, the old primary
refuses writes (``min-replicas-to-write``: its replicas stopped acknowledging) and no bid sent to
the old side after the cut gets a 201. Then the usual checks on the new primary's history
(:func:`tests.support.bid_history.check_history`), the time from the cut to the first
accepted bid, and the heal: the old primary comes back as a replica of the new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis.asyncio import Redis

from gavel import endpoints, keys, redis_client
from gavel.auction import IncrementStep
from gavel.events import BidEvent
from gavel.redis_acl import WORKLOAD_ROLES
from gavel_devstack import probes
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.gateway import running_gateway
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import wait_for
from tests.support.bid_crowd import Crowd
from tests.support.bid_history import check_history, report
from tests.support.partitioned_redis import PartitionedRegion

HOME = "us"
BIDS_BEFORE_CUT = 50
RESUME_TARGET_S = 5.0
GIVE_UP_S = 20.0
UNLIMITED = ("--rate-burst", "100000", "--rate-per-second", "100000")


@pytest.fixture
async def region(tmp_path: Path) -> AsyncIterator[PartitionedRegion]:
    r = PartitionedRegion(tmp_path / "redis")
    try:
        await r.start()
        yield r
    finally:
        await r.close()


@contextlib.asynccontextmanager
async def _gateways(
    stack: Stack, region: PartitionedRegion, outboxes: tuple[Path, Path]
) -> AsyncIterator[tuple[str, str]]:
    """An old-side and a new-side gateway; their base URLs."""
    variable = endpoints.redis_url_var(HOME)
    # Started from threads, so this event loop stays free while a gateway starts.
    gateways = (contextlib.ExitStack(), contextlib.ExitStack())
    try:
        # The old side names the primary itself (no Sentinels on its side), so it must be told
        # to wait for a replica: a single-server URL implies none.
        old = running_gateway(
            {**_without_logins(stack.env), variable: region.old_side_url},
            HOME,
            outboxes[0],
            (*UNLIMITED, "--wait-replicas", "1"),
        )
        new = running_gateway(
            {**_without_logins(stack.env), variable: region.sentinel_url},
            HOME,
            outboxes[1],
            UNLIMITED,
        )
        # One after the other: two Python processes starting at once on a busy machine take
        # longer than both in turn.
        yield (
            await asyncio.to_thread(gateways[0].enter_context, old),
            await asyncio.to_thread(gateways[1].enter_context, new),
        )
    finally:
        await asyncio.gather(*(asyncio.to_thread(g.close) for g in gateways))


@dataclass
class Run:
    old: Crowd
    new: Crowd
    cut_at: float
    fenced_s: float
    """From the cut to the old primary refusing a write."""


def _without_logins(env: dict[str, str]) -> dict[str, str]:
    """The stack's environment minus the workloads' Redis logins: this test's own region runs
    without ACL users (its Redis is built here, not by the stack)."""
    logins = {endpoints.redis_auth_var(r) for r in WORKLOAD_ROLES}
    return {k: v for k, v in env.items() if k not in logins}


async def _bid_across_the_cut(
    region: PartitionedRegion, drop: str, bases: tuple[str, str], secret: Mapping[str, str]
) -> Run:
    amounts = itertools.count(1)
    old = Crowd(bases[0], secret, drop, bidders=4, name="old", amounts=amounts)
    new = Crowd(bases[1], secret, drop, bidders=4, name="new", amounts=amounts)
    done = asyncio.Event()
    bidding = [asyncio.create_task(c.run_until(done)) for c in (old, new)]

    async def flowing() -> bool:
        return min(len(old.answers), len(new.answers)) >= BIDS_BEFORE_CUT // 2

    async def resumed() -> bool:
        return new.accepted_after(cut_at) is not None

    async def old_side_kept_trying() -> bool:
        return len(old.answers) >= more

    try:
        await wait_for(flowing, GIVE_UP_S, f"{BIDS_BEFORE_CUT} answers before the cut")
        # A loaded machine may time a WAIT out (503) even now; what matters is that both
        # sides were deciding bids when the cut came.
        assert all(any(a.status == 201 for a in c.answers) for c in (old, new))
        cut_at = time.monotonic()
        region.cut()
        await wait_for(region.old_primary_refuses_writes, GIVE_UP_S, "the old primary fenced")
        fenced_s = time.monotonic() - cut_at
        await wait_for(resumed, GIVE_UP_S, "a bid sent to the new side accepted")
        # Both sides keep bidding a while longer: the old one must keep failing.
        more = len(old.answers) + 20
        await wait_for(old_side_kept_trying, GIVE_UP_S, "the old side answered again")
    finally:
        done.set()
        await asyncio.gather(*bidding)
    return Run(old, new, cut_at, fenced_s)


async def test_a_partitioned_primary_stops_deciding_and_no_acknowledged_bid_is_lost(
    stack: Stack, region: PartitionedRegion, tmp_path: Path
) -> None:
    async with redis_client.connect(region.sentinel_url) as redis:
        rules = await open_test_drop(redis, start_price=1_000, increments=(IncrementStep(0, 100),))
    outboxes = (tmp_path / "outbox-old", tmp_path / "outbox-new")
    old_primary = region.primary_port
    async with _gateways(stack, region, outboxes) as bases:
        run = await _bid_across_the_cut(region, rules.drop_id, bases, stack.env)
    first = run.new.accepted_after(run.cut_at)
    assert first is not None
    resumed_s = first.answered - run.cut_at
    report("partitioned (new side)", run.new, resumed_s)
    report("partitioned (old side)", run.old, resumed_s)
    print(f"old primary refused writes {run.fenced_s:.2f} s after the cut")
    late = [a for a in run.old.answers if a.status == 201 and a.sent > run.cut_at]
    assert not late, f"the old side acknowledged bids after the cut: {late[:3]}"
    assert any(a.status == 503 and a.sent > run.cut_at for a in run.old.answers)
    new_primary = await region.named_primary()
    assert new_primary in region.replica_ports, "the Sentinels did not promote a replica"
    async with Redis(port=new_primary) as primary:
        await check_history(
            primary, rules.drop_id, [(run.old, outboxes[0]), (run.new, outboxes[1])]
        )
    assert resumed_s <= RESUME_TARGET_S

    # Healed, the old primary learns it was replaced and follows the new one.
    region.heal()

    async def rejoined() -> bool:
        role = await asyncio.to_thread(probes.redis_role, old_primary)
        return role == "replica" and await asyncio.to_thread(probes.redis_node_ready, old_primary)

    await wait_for(rejoined, GIVE_UP_S, "the old primary back as a replica")


async def test_a_partition_healed_while_the_sentinels_fail_over(
    stack: Stack, region: PartitionedRegion, tmp_path: Path
) -> None:
    """Cut just long enough for the Sentinels to start a failover, then heal: the old primary
    is reachable again while a replica is promoted, and keeps its other replica until the
    Sentinels reconfigure it (about a second). Bids both gateways send it meanwhile (the new
    side's pooled connections reach it again too) must not be acknowledged."""
    async with redis_client.connect(region.sentinel_url) as redis:
        rules = await open_test_drop(redis, start_price=1_000, increments=(IncrementStep(0, 100),))
    outboxes = (tmp_path / "outbox-old", tmp_path / "outbox-new")
    secret = stack.env
    async with _gateways(stack, region, outboxes) as bases:
        amounts = itertools.count(1)
        old = Crowd(bases[0], secret, rules.drop_id, bidders=4, name="old", amounts=amounts)
        new = Crowd(bases[1], secret, rules.drop_id, bidders=4, name="new", amounts=amounts)
        done = asyncio.Event()
        bidding = [asyncio.create_task(c.run_until(done)) for c in (old, new)]

        async def flowing() -> bool:
            return min(len(old.answers), len(new.answers)) >= BIDS_BEFORE_CUT // 2

        async def resumed() -> bool:
            return new.accepted_after(cut_at) is not None

        async def answered_after_resuming() -> bool:
            return len(old.answers) + len(new.answers) >= more

        try:
            await wait_for(flowing, GIVE_UP_S, "answers before the cut")
            cut_at = time.monotonic()
            region.cut()
            await wait_for(region.failover_started, GIVE_UP_S, "a failover under way")
            region.heal()
            await wait_for(resumed, GIVE_UP_S, "a bid sent to the new side accepted")
            more = len(old.answers) + len(new.answers) + 40
            await wait_for(answered_after_resuming, GIVE_UP_S, "bids after the failover")
        finally:
            done.set()
            await asyncio.gather(*bidding)
    async with Redis(port=await region.named_primary()) as primary:
        stream = await primary.xrange(keys.for_drop(rules.drop_id).events)
        kept = {BidEvent.from_stream(fields).event_id for _, fields in stream}
        for c in (old, new):
            lost = [a for a in c.answers if a.status == 201 and a.body["event_id"] not in kept]
            when = [round(a.answered - cut_at, 2) for a in lost]
            print(f"\n{c.name} side: {len(lost)} acknowledged bids lost, answered at {when} s")
        await check_history(primary, rules.drop_id, [(old, outboxes[0]), (new, outboxes[1])])
