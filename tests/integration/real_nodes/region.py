"""The operator's rendered region workloads applied to the folder's real node, as
:func:`gavel_operator.rendering.render_region` makes them, with the region's Redis given by
the stack (a Service without selector whose endpoint is the host's end of the node's link).

Used by ``conftest.region`` (applied once per stack, shared by the tests that bid through it)
and by tests that look at or kill its pods.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gavel import endpoints, kafka_auth
from gavel.redis_acl import Role
from gavel.resources.region import BidderTokens, KafkaSecurity, Resources
from gavel_devstack import issuer_keys
from gavel_devstack.harness import tokens
from gavel_devstack.harness.waiting import poll
from gavel_operator.rendering import GATEWAY_PORT, RegionView, render_region
from gavel_operator.rendering_redis import REDIS_PORT

if TYPE_CHECKING:
    from tests.integration.real_nodes.conftest import Node

REGION = "us"
NS = "gavel"
REDIS_COMPONENTS = {"redis", "redis-sentinel", "redis-scripts"}
LEFT_OUT = {*REDIS_COMPONENTS, "audit-writer"}
"""Redis comes from the stack; the audit writer needs Cassandra, which this stack lacks."""
RUNNING = ("gateway", "relay", "fanout")


@dataclass
class AppliedRegion:
    rendered: list[dict[str, Any]]
    first_ready: dict[str, list[dict[str, Any]]]
    """Container statuses of each component when it first became ready."""

    def gateway_url(self, node: Node) -> str:
        service = json.loads(
            node.kubectl("get", "service", "gavel-gateway", "-n", NS, "-o", "json")
        )
        return f"http://{service['spec']['clusterIP']}:{GATEWAY_PORT}"


def view(node: Node) -> RegionView:
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
        # The pods cannot reach the issuer on the host's loopback: its JWKS comes in a
        # ConfigMap, the way a cluster without egress to the identity provider would get it.
        bidder_tokens=BidderTokens.model_validate(
            {"issuer": issuer_keys.ISSUER, "jwksConfigMapRef": {"name": "bidder-jwks"}}
        ),
        # The stack's Kafka authenticates: each workload's user from its own Secret.
        kafka=KafkaSecurity.model_validate({"users": KAFKA_SECRETS}),
        # And its Redis: each workload's login from one Secret, a key per role.
        redis_auth_secret=REDIS_LOGINS,
    )


REDIS_LOGINS = "gavel-redis-logins"


def redis_logins(node: Node) -> dict[str, Any]:
    """The Secret spec.endpoints.redisAuthSecret names: the stack's login of every role."""
    logins = {
        role.value: node.env[endpoints.redis_auth_var(role)]
        for role in Role
        if endpoints.redis_auth_var(role) in node.env
    }
    assert logins, "the stack exports no Redis logins"
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": REDIS_LOGINS, "namespace": NS},
        "stringData": logins,
    }


KAFKA_SECRETS = {
    "relay": "gavel-kafka-relay",
    "fanout": "gavel-kafka-fanout",
    "auditWriter": "gavel-kafka-audit-writer",
    "mirror": "gavel-kafka-mirror",
}


def kafka_secrets(node: Node) -> list[dict[str, Any]]:
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


def stack_redis(node: Node, namespace: str = NS) -> list[dict[str, Any]]:
    """``gavel-redis`` as the workloads expect it (single server, port 6379), leading to the
    stack's primary: kube-proxy sends it to the host's end of the link, the host to loopback."""
    port = {"name": "redis", "port": REDIS_PORT, "targetPort": node.ports.redis}
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "gavel-redis", "namespace": namespace},
            "spec": {"ports": [port]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "gavel-redis-stack",
                "namespace": namespace,
                "labels": {"kubernetes.io/service-name": "gavel-redis"},
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": [node.net.host_ip]}],
            "ports": [{"name": "redis", "port": node.ports.redis, "protocol": "TCP"}],
        },
    ]


def pods(node: Node, component: str) -> list[dict[str, Any]]:
    selector = f"app.kubernetes.io/name={component}"
    found = json.loads(node.kubectl("get", "pods", "-n", NS, "-l", selector, "-o", "json"))
    return list(found["items"])


def containers_ready(node: Node, component: str) -> list[dict[str, Any]] | None:
    """Container statuses of ``component``'s pods, once there are some and all are ready."""
    statuses = [
        s for p in pods(node, component) for s in p["status"].get("containerStatuses") or []
    ]
    return statuses if statuses and all(s.get("ready") for s in statuses) else None


def apply(node: Node, image: str) -> AppliedRegion:
    """Apply the rendered region (less what the stack gives) and wait until it is ready."""
    region = view(node)
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
    node.apply(rendered[0])  # the namespace first
    node.apply(
        *stack_redis(node),
        *kafka_secrets(node),
        redis_logins(node),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "bidder-jwks", "namespace": NS},
            "data": {"jwks.json": json.dumps(issuer_keys.published(tokens.run_dir(node.env)))},
        },
        *rendered[1:],
    )
    ready = {
        component: poll(
            partial(containers_ready, node, component),
            timeout_s=180,
            what=f"the rendered {component} pod to be ready",
        )
        for component in RUNNING
    }
    return AppliedRegion(rendered, ready)


def empty_dir(node: Node, pod: dict[str, Any], volume: str) -> Path:
    """Where the kubelet keeps ``pod``'s emptyDir ``volume`` on the node (the host's disk)."""
    uid = pod["metadata"]["uid"]
    return node.kubelet_dir / "pods" / uid / "volumes" / "kubernetes.io~empty-dir" / volume
