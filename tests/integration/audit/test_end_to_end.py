"""Counts reconcile end to end: every attempt placed in Redis (``place_bid.lua``) becomes
exactly one row in Cassandra, after the real relay and the real audit writer ran."""

from __future__ import annotations

from gavel import redis_client
from gavel.audit.store import AuditStore
from gavel_devstack.harness.audit import (
    event_ids,
    group_at_end,
    new_group,
    running_writer,
    trail,
    writer_settings,
)
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.relay import place_attempts, relay_settings, running_relay, with_db
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import wait_for

AUDIT_E2E_DB = 11
"""The relay here drains every drop of its Redis database: this test's own logical database."""


async def test_attempts_placed_equal_rows_written(
    stack: Stack, kafka: str, store: AuditStore, audit_keyspace: str
) -> None:
    redis_url = with_db(stack.redis_url(stack.regions[0]), AUDIT_E2E_DB)
    redis = redis_client.connect(redis_url)
    try:
        drops = [(await open_test_drop(redis)).drop_id for _ in range(3)]
    finally:
        await redis.aclose()
    group = new_group()
    await group_at_end(kafka, group)
    async with (
        running_relay(relay_settings(redis_url, kafka)),
        running_writer(writer_settings(stack, audit_keyspace, group)),
    ):
        placed = await place_attempts(redis_url, drops, per_drop=300)
        assert placed.accepted
        assert len(placed.accepted) < len(placed.all)  # rejected ones too

        async def reconciled() -> bool:
            return len(await event_ids(store, drops)) >= len(placed.all)

        await wait_for(reconciled, 60, "every placed attempt in Cassandra")
    ids = await event_ids(store, drops)
    assert len(ids) == len(placed.all) == 900
    assert set(ids) == placed.all
    rows = [a.event for d in drops for a in await trail(store, d)]
    accepted_ids = {e.event_id for e in rows if e.decision.outcome == "accepted"}
    assert accepted_ids == placed.accepted
    assert {e.decision.reason for e in rows if e.decision.outcome == "rejected"} == {
        "below_minimum"
    }
    # The table says the same as the auction: each drop's accepted bids rise with seq.
    for drop in drops:
        accepted = sorted(
            (
                a.event
                for a in await trail(store, drop, outcome=None)
                if a.event.decision.outcome == "accepted"
            ),
            key=lambda e: e.decision.seq,
        )
        assert [e.decision.seq for e in accepted] == list(range(1, len(accepted) + 1))
        assert [e.amount for e in accepted] == sorted(e.amount for e in accepted)
