"""The operator's rendered region workloads on a real node (the folder's shared stack and
``conftest.applied_region``): the gateway with its outbox shipper, the relay and the fan-out.

Kafka is the stack's, through its listener for pods. Every container must start and become
ready under the rendered command, environment, probes and security context, without a restart.
A bid goes through the gateway's Service from the test process and is decided in the stack's
Redis.
"""

from __future__ import annotations

import httpx

from gavel import keys, redis_client
from gavel_devstack.harness import tokens
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.stack_env import Stack
from tests.integration.real_nodes.conftest import Node
from tests.integration.real_nodes.region import REGION, AppliedRegion


async def test_the_rendered_gateway_runs_ready_and_decides_a_bid_sent_to_its_service(
    node: Node, applied_region: AppliedRegion
) -> None:
    token = tokens.mint(node.env, "alice")
    async with redis_client.connect(Stack(node.env).redis_url(REGION)) as redis:
        rules = await open_test_drop(redis)
        async with httpx.AsyncClient(base_url=applied_region.gateway_url(node), timeout=10) as http:
            r = await http.post(
                f"/v1/drops/{rules.drop_id}/bids",
                json={"bid_id": "b1", "amount": 1_500},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert r.status_code == 201, r.text
        assert r.json()["outcome"] == "accepted"
        assert await redis.hget(keys.for_drop(rules.drop_id).state, "high_bid") == b"1500"

    restarts = {
        s["name"]: s["restartCount"]
        for statuses in applied_region.first_ready.values()
        for s in statuses
    }
    assert restarts == {"gateway": 0, "outbox-shipper": 0, "relay": 0, "fanout": 0}
