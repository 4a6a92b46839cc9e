from __future__ import annotations

from pathlib import Path

import pytest

from gavel_devstack import components, layout, real_nodes
from gavel_devstack.install import Installed

INST = Installed(
    k8s_bin=Path("/opt/k8s"),
    nodes_bin=Path("/opt/nodes"),
    kafka_lib=Path("/opt/kafka"),
    cassandra_lib=Path("/opt/cas"),
    java=Path("/opt/java"),
    redis_server=Path("/opt/rd"),
    kubelet_bin=Path("/opt/kubelet"),
    coredns_bin=Path("/opt/coredns"),
)


def test_a_real_node_starts_its_kubelet_after_containerd_and_the_regions_api_server(
    tmp_path: Path,
) -> None:
    ports = layout.ports_for_block(5)
    kubeconfig = tmp_path / "kc-in"
    containerd, kubelet, kube_proxy = real_nodes.real_node(
        INST, tmp_path, "in", ports, admin_token="t", kubeconfig=kubeconfig, taint=False
    )
    assert (containerd.key, kubelet.key) == ("containerd/in", "kubelet/in")
    assert kubelet.after == ("containerd/in", "apiserver/in")
    assert kubelet.argv[0] == "/opt/kubelet/kubelet"
    assert f"--kubeconfig={kubeconfig}" in kubelet.argv
    assert "--hostname-override=node-in" in kubelet.argv
    assert "--node-ip=10.202.5.253" in kubelet.argv
    assert kube_proxy.after == ("kubelet/in",)
    home = real_nodes.node_home(tmp_path, "in")
    assert home / "manifests" / "coredns.json" in kubelet.files
    assert set(containerd.files) == {
        home / "containerd.toml",
        home / "cni" / "10-gavel.conflist",
        home / "registries" / "_default" / "hosts.toml",
    }
    assert containerd.prepare is not None
    assert containerd.when_ready is not None
    assert not list(tmp_path.iterdir()), "building components must not touch the run folder"


def test_real_nodes_are_not_started_by_default_and_need_the_api_servers(tmp_path: Path) -> None:
    assert "kubelet" in components.KINDS
    assert "kubelet" not in components.DEFAULT_KINDS
    with pytest.raises(ValueError, match="kubelet needs k8s"):
        components.plan(("us",), {"kubelet"}, layout.ports_for_block(0), INST, tmp_path)


def test_containerd_and_kube_proxy_run_in_the_nodes_network_namespace(tmp_path: Path) -> None:
    containerd, kubelet, kube_proxy = real_nodes.real_node(
        INST,
        tmp_path,
        "us",
        layout.ports_for_block(5),
        admin_token="t",
        kubeconfig=tmp_path,
        taint=False,
    )
    enter = ["nsenter", "--net=/run/netns/gavel-5-us", "--"]
    assert containerd.argv[:3] == enter
    assert kube_proxy.argv[:4] == [*enter, "/opt/kubelet/kube-proxy"]
    # The kubelet stays on the host: it reaches the API server on loopback.
    assert kubelet.argv[0] == "/opt/kubelet/kubelet"


def test_a_real_node_alone_brings_the_controllers_and_scheduler_and_no_kwok(tmp_path: Path) -> None:
    ports = layout.ports_for_block(0)
    kinds = {c.key for c in components.plan(("us",), {"k8s", "kubelet"}, ports, INST, tmp_path)}
    assert {"controllers/us", "scheduler/us", "kube-proxy/us"} <= kinds
    assert "kwok/us" not in kinds
    both = components.plan(("us",), {"k8s", "nodes", "kubelet"}, ports, INST, tmp_path)
    assert sorted(c.key for c in both).count("controllers/us") == 1


def test_each_regions_services_get_the_range_its_node_routes(tmp_path: Path) -> None:
    ports = layout.ports_for_block(4)
    planned = components.plan(("us", "eu"), {"k8s"}, ports, INST, tmp_path)
    ranges = {
        c.region: next(a for a in c.argv if a.startswith("--service-cluster-ip-range="))
        for c in planned
        if c.kind == "apiserver"
    }
    assert ranges == {
        "hub": "--service-cluster-ip-range=10.0.0.0/24",
        "us": "--service-cluster-ip-range=10.200.4.128/26",
        "eu": "--service-cluster-ip-range=10.201.4.128/26",
    }
