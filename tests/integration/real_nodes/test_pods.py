"""The ``kubelet`` component: pods running the Gavel image as real containers on a real node
(the folder's shared stack, ``conftest.node``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gavel_devstack import node_config
from gavel_devstack.harness.waiting import poll
from tests.integration.real_nodes.conftest import Node


def test_the_node_registers_ready_with_its_host_address(node: Node) -> None:
    nodes = json.loads(node.kubectl("get", "nodes", "-o", "json"))["items"]
    assert [n["metadata"]["name"] for n in nodes] == [node.net.name]
    status = nodes[0]["status"]
    assert {"type": "InternalIP", "address": node.net.host_ip} in status["addresses"]
    assert status["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://1.6")
    # Alone in its cluster (no KWOK nodes), the node takes every pod: no taint, and the node
    # lifecycle controller lifted the not-ready one.
    assert not nodes[0]["spec"].get("taints")


def test_a_pod_runs_the_gavel_image_to_completion_and_its_log_comes_through_the_api(
    node: Node, image: str
) -> None:
    node.run_pod(
        "gavel-help",
        {
            "nodeName": node.net.name,
            "restartPolicy": "Never",
            "containers": [{"name": "gavel", "image": image, "args": ["--help"]}],
        },
    )
    phase = poll(
        lambda: (
            node.pod("gavel-help")["status"].get("phase") in {"Succeeded", "Failed"}
            and node.pod("gavel-help")["status"]["phase"]
        ),
        timeout_s=120,
        what="the gavel --help pod to finish",
    )
    assert phase == "Succeeded"
    pod_ip = node.pod("gavel-help")["status"]["podIP"]
    assert pod_ip.startswith(node.net.subnet.rsplit(".", 1)[0] + ".")
    log = node.kubectl("logs", "gavel-help")
    for command in ("gateway", "relay", "fanout", "audit-writer", "operator"):
        assert command in log


def test_a_missing_image_is_reported_on_the_pod_not_pulled(node: Node) -> None:
    node.run_pod(
        "no-such-image",
        {
            "nodeName": node.net.name,
            "restartPolicy": "Never",
            "containers": [
                {"name": "x", "image": "localhost/gavel/absent:1", "imagePullPolicy": "Never"}
            ],
        },
    )

    def waiting_reason() -> str | None:
        statuses = node.pod("no-such-image")["status"].get("containerStatuses") or [{}]
        reason = statuses[0].get("state", {}).get("waiting", {}).get("reason")
        return None if reason == "ContainerCreating" else reason

    reason = poll(waiting_reason, timeout_s=60, what="the pod to report its missing image")
    assert reason == "ErrImageNeverPull"


def test_a_pull_goes_to_the_closed_loopback_guard_never_to_the_images_registry(
    node: Node,
) -> None:
    # A loopback registry nobody serves: were the guard ignored, nothing would leave the host.
    unserved = "127.0.0.2:5000"
    node.run_pod(
        "pull-guarded",
        {
            "nodeName": node.net.name,
            "restartPolicy": "Never",
            "containers": [
                {"name": "x", "image": f"{unserved}/nothing:1", "imagePullPolicy": "Always"}
            ],
        },
    )

    def pull_failure() -> str | None:
        events = json.loads(
            node.kubectl(
                "get", "events", "--field-selector=involvedObject.name=pull-guarded", "-o", "json"
            )
        )["items"]
        failed = [
            e["message"] for e in events if e["reason"] == "Failed" and "pull" in e["message"]
        ]
        return failed[0] if failed else None

    message = poll(pull_failure, timeout_s=60, what="the pod's image pull to fail")
    assert f"http://{node_config.REGISTRY_GUARD}/v2/nothing/manifests/1" in message, message
    assert "connection refused" in message, message
    assert f"//{unserved}" not in message, message
    assert f"tcp {unserved}" not in message, message


def test_a_crashing_container_is_restarted_with_back_off_and_reported(
    node: Node, image: str
) -> None:
    node.run_pod(
        "crasher",
        {
            "nodeName": node.net.name,
            "containers": [{"name": "x", "image": image, "args": ["no-such-command"]}],
        },
    )

    def restarted_twice() -> dict[str, Any] | None:
        status = (node.pod("crasher")["status"].get("containerStatuses") or [{}])[0]
        return status if status.get("restartCount", 0) >= 2 else None

    status = poll(restarted_twice, timeout_s=90, what="the crashing container to be restarted")
    # typer's exit code for an unknown command: the container's own failure, not the runtime's.
    assert status["lastState"]["terminated"]["exitCode"] == 2
    events = json.loads(
        node.kubectl("get", "events", "--field-selector=involvedObject.name=crasher", "-o", "json")
    )
    assert "BackOff" in {e["reason"] for e in events["items"]}


def test_a_containers_memory_limit_is_its_cgroups(node: Node, image: str) -> None:
    node.run_pod(
        "limited",
        {
            "nodeName": node.net.name,
            "containers": [
                {
                    "name": "x",
                    "image": image,
                    "command": ["python3", "-c", "import time; time.sleep(600)"],
                    "resources": {"limits": {"memory": "96Mi", "cpu": "100m"}},
                }
            ],
        },
    )
    poll(
        lambda: node.pod("limited")["status"].get("phase") == "Running",
        timeout_s=60,
        what="the limited pod to run",
    )
    uid = node.pod("limited")["metadata"]["uid"]
    memory = Path("/sys/fs/cgroup/memory") / node.net.cgroup_root.lstrip("/")
    limits = {
        int(p.read_text())
        for p in memory.rglob("memory.limit_in_bytes")
        if uid.replace("-", "_") in str(p) or uid in str(p)
    }
    assert 96 * 1024 * 1024 in limits
    node.kubectl("delete", "pod", "limited", "--grace-period=0", "--force")


def test_a_container_over_its_memory_limit_is_oom_killed(node: Node, image: str) -> None:
    hog = "b = bytearray(300 * 1024 * 1024); print(len(b))"
    node.run_pod(
        "hog",
        {
            "nodeName": node.net.name,
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "x",
                    "image": image,
                    "command": ["python3", "-c", hog],
                    "resources": {"limits": {"memory": "96Mi"}},
                }
            ],
        },
    )
    poll(
        lambda: node.pod("hog")["status"].get("phase") in {"Succeeded", "Failed"},
        timeout_s=60,
        what="the hog pod to end",
    )
    status = node.pod("hog")["status"]
    assert status["phase"] == "Failed"
    assert status["containerStatuses"][0]["state"]["terminated"]["reason"] == "OOMKilled"
