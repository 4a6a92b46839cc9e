"""The operator's rendered region workloads on a real node (the folder's shared stack,
``conftest.node``): the gateway with its outbox shipper, the relay and the fan-out, exactly as
:func:`gavel_operator.rendering.render_region` makes them, with the region's Redis given by the
stack (a Service without selector whose endpoint is the host's end of the node's link).

Kafka is the stack's, through its listener for pods. Every container must start and become
ready under the rendered command, environment, probes and security context, without a restart.
A bid goes through the gateway's Service from the test process and is decided in the stack's
Redis.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import httpx

from gavel import endpoints, kafka_auth, keys, redis_client
from gavel.gateway import auth
from gavel.resources.region import KafkaSecurity, Resources
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.waiting import poll
from gavel_operator.rendering import GATEWAY_PORT, RegionView, render_region
from gavel_operator.rendering_redis import REDIS_PORT
from tests.integration.real_nodes.conftest import REGION, Node

NS = "gavel"
REDIS_COMPONENTS = {"redis", "redis-sentinel", "redis-scripts"}
LEFT_OUT = {*REDIS_COMPONENTS, "audit-writer"}
"""Redis comes from the stack; the audit writer needs Cassandra, which this stack lacks."""


def _region(node: Node) -> RegionView:
    host = node.net.host_ip
    # Requests cut to fit a 2-core node; the rest are the operator's defaults.
    small = {"requests": {"cpu": "100m"}}
    return RegionView(
        name=REGION,
        namespace=NS,
        kafka_bootstrap=f"{host}:{node.ports.kafka_pods}",
        redis_url=f"redis://{host}:{node.ports.redis}/0",
        gateway_min=1,
        fanout_min=1,
        cassandra_contact=f"{host}:9042",
        cassandra_dc="datacenter1",
        redis_replicas=0,
        resources=Resources.model_validate({"gateway": small, "fanout": small, "relay": small}),
        # The stack's Kafka authenticates: each workload's user from its own Secret.
        kafka=KafkaSecurity.model_validate({"users": KAFKA_SECRETS}),
    )


KAFKA_SECRETS = {
    "relay": "gavel-kafka-relay",
    "fanout": "gavel-kafka-fanout",
    "auditWriter": "gavel-kafka-audit-writer",
    "mirror": "gavel-kafka-mirror",
}


def _kafka_secrets(node: Node) -> list[dict[str, Any]]:
    """The Secrets spec.kafka names, holding the stack's users (a platform team's job)."""
    roles = {
        "relay": kafka_auth.RELAY,
        "fanout": kafka_auth.FANOUT,
        "auditWriter": kafka_auth.AUDIT_WRITER,
        "mirror": kafka_auth.MIRROR,
    }
    secrets = []
    for field, name in KAFKA_SECRETS.items():
        auth = kafka_auth.from_env(roles[field], node.env)
        assert auth is not None, "the stack exports no Kafka credentials"
        secrets.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": NS},
                "stringData": {"username": auth.username, "password": auth.password},
            }
        )
    return secrets


def _stack_redis(node: Node) -> list[dict[str, Any]]:
    """``gavel-redis`` as the workloads expect it (single server, port 6379), leading to the
    stack's primary: kube-proxy sends it to the host's end of the link, the host to loopback."""
    port = {"name": "redis", "port": REDIS_PORT, "targetPort": node.ports.redis}
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "gavel-redis", "namespace": NS},
            "spec": {"ports": [port]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "gavel-redis-stack",
                "namespace": NS,
                "labels": {"kubernetes.io/service-name": "gavel-redis"},
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": [node.net.host_ip]}],
            "ports": [{"name": "redis", "port": node.ports.redis, "protocol": "TCP"}],
        },
    ]


def _pods(node: Node, component: str) -> list[dict[str, Any]]:
    selector = f"app.kubernetes.io/name={component}"
    found = json.loads(node.kubectl("get", "pods", "-n", NS, "-l", selector, "-o", "json"))
    return list(found["items"])


def _containers_ready(node: Node, component: str) -> list[dict[str, Any]] | None:
    pods = _pods(node, component)
    statuses = [s for p in pods for s in p["status"].get("containerStatuses") or []]
    return statuses if statuses and all(s.get("ready") for s in statuses) else None


async def test_the_rendered_gateway_runs_ready_and_decides_a_bid_sent_to_its_service(
    node: Node, image: str
) -> None:
    region = _region(node)
    rendered = [
        obj
        for obj in render_region(region, [region])
        if obj["metadata"]["labels"]["app.kubernetes.io/name"] not in LEFT_OUT
    ]
    assert {o["kind"] for o in rendered} >= {"Deployment", "Service", "HorizontalPodAutoscaler"}
    assert all(
        c["image"] == image
        for o in rendered
        if o["kind"] == "Deployment"
        for c in o["spec"]["template"]["spec"]["containers"]
    )
    secret = node.env[endpoints.JWT_SECRET]
    node.apply(rendered[0])  # the namespace first
    node.apply(
        *_stack_redis(node),
        *_kafka_secrets(node),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "gavel-bidder-tokens", "namespace": NS},
            "stringData": {"secret": secret},
        },
        *rendered[1:],
    )

    ready = {
        component: poll(
            partial(_containers_ready, node, component),
            timeout_s=180,
            what=f"the rendered {component} pod to be ready",
        )
        for component in ("gateway", "relay", "fanout")
    }
    service = json.loads(node.kubectl("get", "service", "gavel-gateway", "-n", NS, "-o", "json"))
    base_url = f"http://{service['spec']['clusterIP']}:{GATEWAY_PORT}"
    token = auth.mint(secret, "alice")
    async with redis_client.connect(node.env[endpoints.redis_url_var(REGION)]) as redis:
        rules = await open_test_drop(redis)
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            r = await http.post(
                f"/v1/drops/{rules.drop_id}/bids",
                json={"bid_id": "b1", "amount": 1_500},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert r.status_code == 201, r.text
        assert r.json()["outcome"] == "accepted"
        assert await redis.hget(keys.for_drop(rules.drop_id).state, "high_bid") == b"1500"

    restarts = {s["name"]: s["restartCount"] for statuses in ready.values() for s in statuses}
    assert restarts == {"gateway": 0, "outbox-shipper": 0, "relay": 0, "fanout": 0}
