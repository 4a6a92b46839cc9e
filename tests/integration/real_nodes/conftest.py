"""One one-region stack with a real node (``scripts/stack up --only k8s,redis,kafka,kubelet``),
shared by every test of this folder: pods, Services and DNS, the operator's rendered workloads.

The stack lives in a short folder of its own (containerd's socket path must stay under 108
bytes), so the session's stack is never touched. At the end it is taken down and checked: no
container, mount, network namespace, link or forwarding rule is left. Everything is asked of
and read from the region's API server, as a user would with kubectl.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from gavel_devstack import layout, node_config, node_network, real_nodes, stack
from gavel_devstack.harness.waiting import poll
from tests.conftest import ROOT
from tests.integration.real_nodes import region
from tests.integration.real_nodes.region import REGION
from tests.support.clusters import Clusters, run_stack


@dataclass
class Node:
    run_dir: Path
    env: dict[str, str]
    net: node_config.NodeNet
    ports: layout.RegionPorts

    @property
    def kubelet_dir(self) -> Path:
        return real_nodes.node_home(self.run_dir, REGION) / "kubelet"

    @property
    def containerd_socket(self) -> Path:
        return node_config.containerd_socket(real_nodes.node_home(self.run_dir, REGION))

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        return Clusters(self.run_dir, self.env).kubectl(REGION, *args, stdin=stdin).stdout

    def apply(self, *objects: dict[str, Any]) -> None:
        self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(objects))

    def pod(self, name: str, namespace: str = "default") -> dict[str, Any]:
        return json.loads(self.kubectl("get", "pod", name, "-n", namespace, "-o", "json"))

    def run_pod(
        self, name: str, spec: dict[str, Any], labels: dict[str, str] | None = None
    ) -> None:
        meta: dict[str, Any] = {"name": name, "labels": labels or {}}
        self.apply({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})

    def finished(self, name: str, timeout_s: float = 120) -> tuple[str, str]:
        """Wait for a ``restartPolicy: Never`` pod to end; its phase and its log."""
        phase = poll(
            lambda: (
                self.pod(name)["status"].get("phase") in {"Succeeded", "Failed"}
                and self.pod(name)["status"]["phase"]
            ),
            timeout_s=timeout_s,
            what=f"pod {name} to finish",
        )
        return str(phase), self.logs(name)

    def logs(self, name: str) -> str:
        proc = Clusters(self.run_dir, self.env).kubectl(REGION, "logs", name, check=False)
        if proc.returncode != 0:
            raise AssertionError(f"kubectl logs {name}: {proc.stderr}")
        return proc.stdout

    def ready(self, name: str, namespace: str = "default", timeout_s: float = 120) -> None:
        poll(
            lambda: any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in self.pod(name, namespace)["status"].get("conditions", [])
            ),
            timeout_s=timeout_s,
            what=f"pod {namespace}/{name} to be ready",
        )


@pytest.fixture(scope="package")
def image() -> str:
    proc = subprocess.run(
        [str(ROOT / "scripts" / "image"), "build"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def _left_over(node: Node) -> list[str]:
    """What of the node outlived ``down``."""
    cgroup = Path("/sys/fs/cgroup/pids") / node.net.cgroup_root.lstrip("/")
    rules = subprocess.run(
        ["iptables", "-w", "5", "-t", "nat", "-S"], capture_output=True, text=True, check=False
    ).stdout
    left = {
        "cgroup": cgroup.exists(),
        "network namespace": node_network.netns_path(node.net).exists(),
        "host link": Path("/sys/class/net", node.net.host_link).exists(),
        "forwarding rules": node.net.host_link in rules,
        "mounts": f" {node.run_dir}/" in Path("/proc/self/mountinfo").read_text(),
    }
    return [what for what, there in left.items() if there]


@pytest.fixture(scope="package")
def node(image: str) -> Iterator[Node]:
    run_dir = Path(tempfile.mkdtemp(prefix="gavel-node-", dir="/tmp"))
    try:
        run_stack(run_dir, "up", "--regions", "1", "--only", "k8s,redis,kafka,kubelet")
        env = dict(
            line.split("=", 1) for line in run_stack(run_dir, "env").splitlines() if "=" in line
        )
        state = stack.load_state(run_dir)
        assert state is not None
        net = node_config.node_net(state.block, REGION)
        made = Node(run_dir, env, net, layout.ports_for_block(state.block).regions[REGION])
        yield made
        cgroup = Path("/sys/fs/cgroup/pids") / net.cgroup_root.lstrip("/")
        running = sum(len(p.read_text().split()) for p in cgroup.rglob("cgroup.procs"))
        assert running >= 2, "pods still run in the node before down"
        run_stack(run_dir, "down")
        assert _left_over(made) == [], "down left parts of the node behind"
    finally:
        run_stack(run_dir, "down", "--purge")
        shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture(scope="package")
def applied_region(node: Node, image: str) -> region.AppliedRegion:
    """The operator's rendered region workloads, ready on the node (applied once)."""
    return region.apply(node, image)
