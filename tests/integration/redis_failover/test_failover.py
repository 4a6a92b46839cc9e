"""The home region's Redis primary fails while a crowd bids through a real gateway.

Real Redis, Sentinels and gateway of the local stack (a primary, two replicas, three
Sentinels per region). After each fault: every bid answered 201 is in the new primary's
history under its seq, accepted amounts strictly increase with seq, no seq is decided twice,
every answered attempt is recorded once (decided ones in the drop's stream, 503s in the
gateway's disk outbox), and bidding resumed. Prints the time from the fault to the first
accepted bid sent after it (the issue's target: at most 5 s).
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from gavel import redis_client
from gavel.auction import IncrementStep
from gavel_devstack.harness import redis_nodes
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.gateway import running_gateway
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import wait_for
from tests.support.bid_crowd import Crowd
from tests.support.bid_history import check_history, report

HOME = "us"
Fault = Callable[[redis_nodes.Node], None]
RESUME_TARGET_S = 5.0
BIDS_BEFORE_FAULT = 50
GIVE_UP_S = 20.0
"""Bidding must resume well before this; past it the test fails (bounded in time)."""


@pytest.fixture
def region(stack: Stack) -> Iterator[tuple[Path, str]]:
    """The home region's Redis in sync before the test, and put back in sync after it."""
    url = stack.redis_url(HOME)
    redis_nodes.restore(stack.run_dir, HOME, url)
    yield stack.run_dir, url
    redis_nodes.restore(stack.run_dir, HOME, url)


@pytest.fixture
async def primary_client(stack: Stack) -> AsyncIterator[Redis]:
    client = redis_client.connect(stack.redis_url(HOME))
    yield client
    await client.aclose()


async def _bid_through_fault(
    stack: Stack,
    region: tuple[Path, str],
    redis: Redis,
    outbox_dir: Path,
    *,
    fault: Fault,
    heal: Fault,
) -> tuple[str, Crowd, float]:
    """Open a drop, bid, inject ``fault`` into the primary, bid until a bid sent after the
    fault is accepted; returns the drop, the crowd and the seconds to that acceptance."""
    run_dir, url = region
    rules = await open_test_drop(redis, start_price=1_000, increments=(IncrementStep(0, 100),))
    old = redis_nodes.primary(run_dir, HOME, url)
    with running_gateway(
        stack.env,
        HOME,
        outbox_dir,
        ("--rate-burst", "100000", "--rate-per-second", "100000"),
    ) as base:
        crowd = Crowd(base, stack.env, rules.drop_id)
        done = asyncio.Event()
        bidding = asyncio.create_task(crowd.run_until(done))

        async def flowing() -> bool:
            return len(crowd.answers) >= BIDS_BEFORE_FAULT

        await wait_for(flowing, GIVE_UP_S, f"{BIDS_BEFORE_FAULT} answers before the fault")
        assert all(a.status in {201, 409} for a in crowd.answers)
        fault_at = time.monotonic()
        fault(old)

        async def resumed() -> bool:
            return crowd.accepted_after(fault_at) is not None

        try:
            await wait_for(resumed, GIVE_UP_S, "a bid sent after the fault accepted")
        finally:
            heal(old)
            done.set()
            await bidding
        first = crowd.accepted_after(fault_at)
    assert first is not None
    resumed_s = first.answered - fault_at
    new = redis_nodes.primary(run_dir, HOME, url)
    assert new.port != old.port, "the Sentinels did not fail over"
    return rules.drop_id, crowd, resumed_s


async def _check_nothing_lost(
    region: tuple[Path, str], drop: str, crowd: Crowd, outbox_dir: Path
) -> None:
    # Read the node the Sentinels name now, through a new connection: a pooled one may still
    # reach the old primary, which keeps its data until the Sentinels turn it into a replica.
    node = redis_nodes.primary(region[0], HOME, region[1])
    async with Redis.from_url(node.url) as redis:
        await check_history(redis, drop, [(crowd, outbox_dir)])


def _faults(run_dir: Path) -> dict[str, tuple[Fault, Fault]]:
    """What happens to the primary, and what is done once bidding resumed elsewhere."""

    def kill(node: redis_nodes.Node) -> None:
        redis_nodes.signal_node(node, signal.SIGKILL)

    def lose_machine(node: redis_nodes.Node) -> None:
        # The page cache cannot save it: the data folder goes with the process. The stack
        # restarts it empty afterwards, and the Sentinels make it a replica of the new primary.
        kill(node)
        shutil.rmtree(run_dir / f"{node.kind}-{HOME}")

    def nothing(_: redis_nodes.Node) -> None:
        pass

    return {
        "crashed": (kill, nothing),
        # Woken after the failover, the old primary is turned into a replica by the Sentinels.
        "hung": (
            lambda node: redis_nodes.signal_node(node, signal.SIGSTOP),
            lambda node: redis_nodes.signal_node(node, signal.SIGCONT),
        ),
        "machine lost": (lose_machine, nothing),
    }


@pytest.mark.parametrize("scenario", ["crashed", "hung", "machine lost"])
async def test_the_primary_fails_and_no_acknowledged_bid_is_lost(
    stack: Stack,
    region: tuple[Path, str],
    primary_client: Redis,
    tmp_path: Path,
    scenario: str,
) -> None:
    fault, heal = _faults(region[0])[scenario]
    outbox_dir = tmp_path / "outbox"
    drop, crowd, resumed_s = await _bid_through_fault(
        stack, region, primary_client, outbox_dir, fault=fault, heal=heal
    )
    report(scenario, crowd, resumed_s)
    await _check_nothing_lost(region, drop, crowd, outbox_dir)
    assert resumed_s <= RESUME_TARGET_S
