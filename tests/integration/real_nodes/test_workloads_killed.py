"""A gateway pod killed mid-drop on a real node (``conftest.applied_region``).

The pod's processes die by SIGKILL while an attempt it answered waits in its disk outbox (an
emptyDir) because its shipper cannot reach Kafka: the kubelet restarts both containers in the
same pod, the emptyDir outlives them, and the restarted shipper delivers the attempt to the
audit topic once Kafka answers again. Then the pod is deleted: the Deployment raises another
and the drop's bidding goes on through the same Service.

The shipper is cut from Kafka by a TCP reset rule for that pod's address in the node's own
network namespace, so the relay, the fan-out and the test process keep their Kafka; nothing is
timed, every step waits for what it needs to see.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from gavel import endpoints, kafka_auth, keys, outbox, redis_client, topics
from gavel_devstack import node_network
from gavel_devstack.harness import tokens
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.kafka import KafkaTail
from gavel_devstack.harness.relay import edge_event
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import poll
from gavel_operator.rendering import OUTBOX_DIR
from tests.integration.real_nodes import region
from tests.integration.real_nodes.conftest import Node
from tests.integration.real_nodes.region import NS, REGION, AppliedRegion

OUTBOX_VOLUME = "outbox"
IMAGE_USER = 10001
"""The Dockerfile's ``USER``: the owner of every segment a gateway writes."""


@contextmanager
def _kafka_cut(node: Node, pod_ip: str) -> Iterator[None]:
    """Reset every TCP connection from ``pod_ip`` to the stack's Kafka listener for pods."""
    rule = [
        *("FORWARD", "-s", f"{pod_ip}/32", "-d", f"{node.net.host_ip}/32", "-p", "tcp"),
        *("--dport", str(node.ports.kafka_pods), "-j", "REJECT", "--reject-with", "tcp-reset"),
    ]

    def iptables(*args: str) -> None:
        argv = node_network.in_netns(node.net, ["iptables", "-w", "5", *args])
        subprocess.run(argv, check=True, capture_output=True, text=True)

    iptables("-I", *rule[:1], "1", *rule[1:])
    try:
        yield
    finally:
        iptables("-D", *rule)


def _kill_every_container(node: Node, pod: dict[str, Any]) -> None:
    """SIGKILL each container's process through the node's containerd, as an OOM kill would."""
    for status in pod["status"]["containerStatuses"]:
        container_id = status["containerID"].removeprefix("containerd://")
        argv = ["ctr", "--address", str(node.containerd_socket), "-n", "k8s.io"]
        subprocess.run(
            [*argv, "tasks", "kill", "--signal", "SIGKILL", container_id],
            check=True,
            capture_output=True,
            text=True,
        )


def _restarted(node: Node, pod: dict[str, Any]) -> dict[str, Any] | None:
    """``pod`` again, once every container of it restarted and is ready."""
    before = {s["name"]: s["restartCount"] for s in pod["status"]["containerStatuses"]}
    now = node.pod(pod["metadata"]["name"], NS)
    statuses = now["status"].get("containerStatuses") or []
    done = all(s["ready"] and s["restartCount"] > before[s["name"]] for s in statuses)
    return now if statuses and done else None


def _segments_with(folder: Path, text: str) -> list[Path]:
    return [p for p in folder.glob("*.jsonl") if text in p.read_text()]


async def test_a_killed_gateway_pod_still_ships_the_attempt_its_disk_outbox_held(
    node: Node, applied_region: AppliedRegion
) -> None:
    (pod,) = region.pods(node, "gateway")
    outbox = region.empty_dir(node, pod, OUTBOX_VOLUME)
    mounts = {m["name"]: m["mountPath"] for m in pod["spec"]["containers"][0]["volumeMounts"]}
    assert mounts[OUTBOX_VOLUME] == OUTBOX_DIR
    drop_id = f"absent-{uuid.uuid4().hex[:8]}"  # an attempt on it is decided at the edge
    bid_id = f"killed-{uuid.uuid4().hex[:8]}"
    token = tokens.mint(node.env, "alice")
    bootstrap = node.env[endpoints.kafka_bootstrap_var(REGION)]

    tail = KafkaTail(
        bootstrap,
        (topics.AUDIT,),
        keys={drop_id.encode()},
        auth=kafka_auth.from_env(kafka_auth.ADMIN, node.env),
    )
    async with tail:
        with _kafka_cut(node, pod["status"]["podIP"]):
            async with httpx.AsyncClient(base_url=applied_region.gateway_url(node)) as http:
                r = await http.post(
                    f"/v1/drops/{drop_id}/bids",
                    json={"bid_id": bid_id, "amount": 1_500},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=10,
                )
            assert r.status_code == 404, r.text
            # Closed by the gateway (every second), so only the shipper can take it further.
            (segment,) = poll(
                lambda: _segments_with(outbox, bid_id),
                timeout_s=30,
                what="the attempt in a closed segment of the pod's outbox",
            )
            _kill_every_container(node, pod)
            pod = poll(
                lambda: _restarted(node, pod),
                timeout_s=120,
                what="the gateway pod's containers to restart and be ready",
            )
            assert segment.exists(), "the emptyDir lost the unshipped segment"
            await tail.poll()
            assert tail.seen == [], "shipped while Kafka was cut"
        await tail.until(
            lambda t: any(s.value["bid_id"] == bid_id for s in t.seen),
            timeout_s=90,
            what="the killed pod's attempt on the audit topic",
        )
    (record,) = {s.value["event_id"]: s for s in tail.seen}.values()
    assert (record.value["outcome"], record.value["reason"]) == ("rejected", "unknown_drop")
    poll(lambda: not segment.exists(), timeout_s=30, what="the shipped segment to be deleted")


async def test_a_segment_a_dead_gateway_left_open_is_shipped_by_its_pods_shipper(
    node: Node, applied_region: AppliedRegion
) -> None:
    """A gateway killed within the second between an fsync and its next close leaves its
    segment ``.open``, named by its pid in its own container: 1, which in the shipper's
    container is the shipper itself. That instant cannot be hit on purpose, so the file it
    leaves is laid down as the gateway writes it (name, owner, mode, an event line)."""
    (pod,) = region.pods(node, "gateway")
    drop_id = f"orphan-{uuid.uuid4().hex[:8]}"
    event = edge_event(drop_id, 1)
    name = f"gateway-{REGION}-1-{int(time.time() * 1000)}-1{outbox.OPEN_SUFFIX}"
    orphan = region.empty_dir(node, pod, OUTBOX_VOLUME) / name
    bootstrap = node.env[endpoints.kafka_bootstrap_var(REGION)]
    async with KafkaTail(
        bootstrap,
        (topics.AUDIT,),
        keys={drop_id.encode()},
        auth=kafka_auth.from_env(kafka_auth.ADMIN, node.env),
    ) as tail:
        orphan.write_bytes(event.to_json() + b"\n")
        os.chown(orphan, IMAGE_USER, IMAGE_USER)
        orphan.chmod(0o600)
        long_ago = time.time() - 60  # idle past the shipper's reclaim delay
        os.utime(orphan, (long_ago, long_ago))
        await tail.until(
            lambda t: event.event_id in t.event_ids(topics.AUDIT),
            timeout_s=60,
            what="the dead gateway's open segment shipped",
        )
    poll(
        lambda: not any(orphan.parent.glob(f"{orphan.stem}.*")),
        timeout_s=30,
        what="the reclaimed segment to be deleted once shipped",
    )


async def test_a_deleted_gateway_pod_is_replaced_and_the_drop_takes_bids_again(
    node: Node, applied_region: AppliedRegion
) -> None:
    token = tokens.mint(node.env, "bob")
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        redis_client.connect(Stack(node.env).redis_url(REGION)) as redis,
        httpx.AsyncClient(base_url=applied_region.gateway_url(node), timeout=10) as http,
    ):
        rules = await open_test_drop(redis)
        path = f"/v1/drops/{rules.drop_id}/bids"
        r = await http.post(path, json={"bid_id": "before", "amount": 1_500}, headers=headers)
        assert r.status_code == 201, r.text

        (pod,) = region.pods(node, "gateway")
        node.kubectl("delete", "pod", pod["metadata"]["name"], "-n", NS, "--wait=false")
        (replacement,) = poll(
            lambda: [
                p
                for p in region.pods(node, "gateway")
                if p["metadata"]["uid"] != pod["metadata"]["uid"]
                and all(
                    s["ready"] for s in p["status"].get("containerStatuses") or [{"ready": False}]
                )
            ],
            timeout_s=180,
            what="a ready gateway pod in place of the deleted one",
        )
        r = await http.post(path, json={"bid_id": "after", "amount": 1_600}, headers=headers)
        assert r.status_code == 201, r.text
        assert r.json()["outcome"] == "accepted"
        assert await redis.hget(keys.for_drop(rules.drop_id).state, "high_bid") == b"1600"
    assert replacement["metadata"]["name"] != pod["metadata"]["name"]
