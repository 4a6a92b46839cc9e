"""Every answered attempt reaches the audit trail exactly once when the home primary dies.

The whole path on the real stack: a crowd bids through a real gateway (which waits for the
replicas), the relay drains the drop's stream and the gateway's disk outbox into Kafka, the
audit writer writes Cassandra; meanwhile the home region's primary is SIGKILLed and the
Sentinels promote a replica. Every answer (201, 409 and 503 alike) names an event id; each must
be exactly one row of the drop's trail. A 503 whose decision survived in Redis may add a second
row under the attempt's own event id (decision 35): that row answers nobody and is allowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from gavel import endpoints, redis_client
from gavel.auction import IncrementStep
from gavel.audit.store import AuditStore
from gavel_devstack.harness import redis_nodes
from gavel_devstack.harness.audit import (
    event_ids,
    group_at_end,
    new_group,
    running_writer,
    writer_settings,
)
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.gateway import running_gateway
from gavel_devstack.harness.relay import relay_settings, running_relay, with_db
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import wait_for
from tests.support.bid_crowd import Crowd

HOME = "us"
AUDIT_FAILOVER_DB = 12
"""The relay drains every drop of its database: this test's own logical database."""
BIDS_BEFORE_FAULT = 40
BIDS_AFTER_RESUME = 40
GIVE_UP_S = 30.0
UNLIMITED = ("--rate-burst", "100000", "--rate-per-second", "100000")


@pytest.fixture
def region(stack: Stack) -> Iterator[str]:
    url = stack.redis_url(HOME)
    redis_nodes.restore(stack.run_dir, HOME, url)
    yield url
    redis_nodes.restore(stack.run_dir, HOME, url)


async def _bid_through_a_kill(stack: Stack, url: str, drop: str, outbox: Path) -> Crowd:
    """Bid through a gateway, SIGKILL the primary, bid on until bidding resumed; the gateway
    is stopped at the end, which hands its last outbox segment to the relay."""
    old = redis_nodes.primary(stack.run_dir, HOME, stack.redis_url(HOME))
    gateway = contextlib.ExitStack()
    env = {**stack.env, endpoints.redis_url_var(HOME): url}
    # From a thread: the relay and the writer run in this event loop meanwhile.
    base = await asyncio.to_thread(
        gateway.enter_context, running_gateway(env, HOME, outbox, UNLIMITED)
    )
    try:
        crowd = Crowd(base, stack.env, drop)
        done = asyncio.Event()
        bidding = asyncio.create_task(crowd.run_until(done))

        async def answered(n: int) -> bool:
            return len(crowd.answers) >= n

        try:
            await wait_for(lambda: answered(BIDS_BEFORE_FAULT), GIVE_UP_S, "bids before the kill")
            fault_at = time.monotonic()
            redis_nodes.signal_node(old, signal.SIGKILL)

            async def resumed() -> bool:
                return crowd.accepted_after(fault_at) is not None

            await wait_for(resumed, GIVE_UP_S, "a bid sent after the kill accepted")
            more = len(crowd.answers) + BIDS_AFTER_RESUME
            await wait_for(lambda: answered(more), GIVE_UP_S, "bids after the failover")
        finally:
            done.set()
            await bidding
    finally:
        await asyncio.to_thread(gateway.close)
    return crowd


async def test_every_answered_attempt_is_audited_once_across_a_failover(
    stack: Stack, store: AuditStore, audit_keyspace: str, region: str, tmp_path: Path
) -> None:
    url = with_db(region, AUDIT_FAILOVER_DB)
    kafka = stack.kafka(HOME)
    async with redis_client.connect(url) as redis:
        rules = await open_test_drop(redis, start_price=1_000, increments=(IncrementStep(0, 100),))
    group = new_group()
    await group_at_end(kafka, group)
    outbox = tmp_path / "outbox"
    async with (
        running_relay(relay_settings(url, kafka, outbox_dir=outbox)),
        running_writer(writer_settings(stack, audit_keyspace, group)),
    ):
        crowd = await _bid_through_a_kill(stack, url, rules.drop_id, outbox)
        answered = Counter(str(a.body["event_id"]) for a in crowd.answers)
        assert len(answered) == len(crowd.answers), "two answers named one event"

        async def all_audited() -> bool:
            return set(answered) <= set(await event_ids(store, [rules.drop_id]))

        await wait_for(all_audited, 60, "every answered attempt in Cassandra")
    rows = Counter(await event_ids(store, [rules.drop_id]))
    doubled = [e for e, n in rows.items() if n > 1]
    assert not doubled, f"rows written twice: {doubled[:5]}"
    assert not crowd.failures, crowd.failures[:5]
    statuses = Counter(a.status for a in crowd.answers)
    assert set(statuses) <= {201, 409, 503}, statuses
    extra = len(rows) - len(answered)
    print(f"\naudited across a failover: answers {dict(statuses)}, {extra} unanswered rows")
    assert extra <= statuses[503], "rows no attempt accounts for"
