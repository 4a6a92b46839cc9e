"""A drop whose home-region Redis is down: bids get 503 and are audited from the disk outbox."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import httpx

from gavel import drops, outbox, redis_client
from gavel_devstack.harness import tokens
from gavel_devstack.harness.drops import new_drop_id, open_test_drop
from gavel_devstack.harness.gateway import running_gateway
from gavel_devstack.harness.processes import free_port
from gavel_devstack.harness.stack_env import Stack


async def test_unreachable_home_region(stack: Stack, tmp_path: Path) -> None:
    local = redis_client.connect(stack.redis_url("us"))
    try:
        # A drop homed in a region whose Redis is gone; us holds the copy of its rules.
        template = await open_test_drop(local)
        rules = replace(template, drop_id=new_drop_id(), home_region="dead")
        await drops.write_rules_copy(local, rules)
    finally:
        await local.aclose()
    env = {**stack.env, "REDIS_URL_DEAD": f"redis://127.0.0.1:{free_port()}/0"}
    with running_gateway(env, "us", tmp_path) as base:
        tok = tokens.mint(stack.env, "alice")
        async with httpx.AsyncClient() as client:
            r = await client.post(
                f"{base}/v1/drops/{rules.drop_id}/bids",
                json={"bid_id": "1", "amount": 5_000},
                headers={"Authorization": f"Bearer {tok}"},
            )
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "unavailable"
        assert r.headers["retry-after"] == "1"
    # The gateway closed its outbox segment on shutdown; the attempt is there for the relay.
    events = [e for seg in outbox.iter_pending(tmp_path) for e in seg.events]
    assert [(e.drop, e.bidder, e.amount, e.decision.reason.value) for e in events] == [
        (rules.drop_id, "alice", 5_000, "unavailable")
    ]
    assert time.time() * 1000 - events[0].decision.decided_ms < 60_000
