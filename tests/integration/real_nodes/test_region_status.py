"""Bad input on a real node shows in the Region's status, not only in pod logs.

Three of the operator's rendered relay Deployments go wrong in their own namespace of the
folder's shared stack: one names an image the node does not have (nothing can be pulled
here, decision 34), one starts with an option the CLI refuses and so crash-loops, one is given
a Kafka address nothing answers and so never becomes ready. The operator's own adapter lists
them through its Kubernetes client (:func:`gavel_operator.region_sync.observe`) and its pure
parts turn the kubelet's real statuses into the Region's status patch and its Event.

The minute a running container must stay unready before it counts (a start is not a problem)
is unit-tested; here the check is made "a minute later" once the kubelet has recorded a
failed readiness probe for that pod, so the test does not wait the minute out.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

from gavel.resources.region import RegionSpec, RegionStatus
from gavel_devstack.harness.waiting import poll
from gavel_operator import kube, pod_health, region_sync, rendering
from gavel_operator.rendering_parts import labels
from tests.integration.real_nodes import region
from tests.integration.real_nodes.conftest import Node
from tests.integration.real_nodes.region import REGION

NS = "gavel-bad"
MISSING_IMAGE = "gavel-missing:0"
REFUSED_OPTION = "--no-such-option"


def _spec(node: Node) -> RegionSpec:
    host = node.net.host_ip
    return RegionSpec.model_validate(
        {
            "cluster": {"inCluster": True},
            "namespace": NS,
            "endpoints": {
                # Outside the stack's block: the host forwards nothing there, so nothing answers.
                "kafkaBootstrap": f"{host}:1",
                "redisUrl": f"redis://{host}:{node.ports.redis}/0",
                "cassandra": {"contactPoints": f"{host}:9042"},
            },
            "capacity": {"observersPerFanoutPod": 1_000, "bidsPerSecondPerGatewayPod": 100},
            "resources": {"relay": {"requests": {"cpu": "50m"}}},
            # Required by the schema; only gateways read it, and none runs here.
            "bidderTokens": {"issuer": "gavel-test", "jwksUrl": f"http://{host}:1/jwks.json"},
        }
    )


def _variant(relay: dict[str, Any], component: str) -> dict[str, Any]:
    """The relay Deployment under another name and selector, to be spoiled by the caller."""
    d = copy.deepcopy(relay)
    d["metadata"]["name"] = f"gavel-{component}"
    d["metadata"]["labels"] = labels(REGION, component)
    d["spec"]["selector"] = {"matchLabels": labels(REGION, component)}
    d["spec"]["template"]["metadata"]["labels"] = labels(REGION, component)
    return d


def _bad_region(spec: RegionSpec) -> list[dict[str, Any]]:
    view = rendering.RegionView.of(REGION, spec)
    rendered = rendering.render_region(view, [view])
    relay = next(o for o in rendered if o["metadata"]["name"] == "gavel-relay")
    missing = _variant(relay, "image-missing")
    missing["spec"]["template"]["spec"]["containers"][0]["image"] = MISSING_IMAGE
    crashing = _variant(relay, "crashing")
    crashing["spec"]["template"]["spec"]["containers"][0]["args"].append(REFUSED_OPTION)
    return [rendered[0], relay, missing, crashing]


def _readiness_failed(node: Node, pod: str) -> bool:
    events = json.loads(
        node.kubectl(
            "get", "events", "-n", NS, "--field-selector", "reason=Unhealthy", "-o", "json"
        )
    )
    return any(
        e["involvedObject"]["name"] == pod and "Readiness probe failed" in e.get("message", "")
        for e in events["items"]
    )


def _problems(node: Node, k: kube.Kube, spec: RegionSpec) -> tuple[Any, ...] | None:
    """Once each spoiled Deployment shows its problem: (found, a minute later, problems)."""
    found = region_sync.observe(k, NS)
    later = time.time() + pod_health.NOT_READY_AFTER_S
    problems = pod_health.problems(found.pods, later, needs=region_sync.readiness_needs(spec))
    by_reason = {p.reason: p for p in problems}
    relay = by_reason.get(pod_health.NOT_READY)
    if (
        set(by_reason) != {pod_health.IMAGE_MISSING, pod_health.CRASH_LOOPING, pod_health.NOT_READY}
        or REFUSED_OPTION not in by_reason[pod_health.CRASH_LOOPING].message
        or relay is None
        or not _readiness_failed(node, relay.pod)
    ):
        return None
    return found, later, by_reason


def test_a_missing_image_a_crash_loop_and_an_unreachable_kafka_show_in_the_regions_status(
    node: Node,
) -> None:
    spec = _spec(node)
    bad = _bad_region(spec)
    node.apply(bad[0])
    node.apply(*region.stack_redis(node, NS), *bad[1:])
    kubeconfig = json.loads(Path(node.env[f"KUBECONFIG_{REGION.upper()}"]).read_text())
    k = kube.Kube.from_kubeconfig(kubeconfig, REGION)
    try:
        found, later, by_reason = poll(
            lambda: _problems(node, k, spec),
            timeout_s=180,
            what="a missing image, a crash loop and an unready relay among the region's pods",
        )
        missing = by_reason[pod_health.IMAGE_MISSING].message
        assert f"image {MISSING_IMAGE} is not on the node" in missing
        assert any(w in missing for w in ("ErrImagePull", "ImagePullBackOff")), missing
        crash = by_reason[pod_health.CRASH_LOOPING].message
        assert "container relay keeps crashing" in crash
        assert "last exit code 2" in crash, crash  # the CLI's usage error, from its log's end
        unready = by_reason[pod_health.NOT_READY].message
        assert f"Kafka at {spec.endpoints.kafka_bootstrap}" in unready

        info = region_sync.RegionInfo(REGION, spec)
        patch = region_sync.available_patch(info, found, later)
        (condition,) = [c for c in patch["conditions"] if c["type"] == pod_health.CONDITION]
        assert (condition["status"], condition["reason"]) == ("False", pod_health.IMAGE_MISSING)
        assert condition["message"] == f"{missing}; {crash}; {unready}"
        assert region_sync.pods_event(RegionStatus(), patch) == (
            "Warning",
            pod_health.IMAGE_MISSING,
            condition["message"],
        )
    finally:
        k.close()
        node.kubectl("delete", "namespace", NS, "--wait=false")
