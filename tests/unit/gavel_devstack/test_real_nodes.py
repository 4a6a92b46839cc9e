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
)


def test_a_real_node_starts_its_kubelet_after_containerd_and_the_regions_api_server(
    tmp_path: Path,
) -> None:
    ports = layout.ports_for_block(5)
    kubeconfig = tmp_path / "kc-in"
    containerd, kubelet = real_nodes.real_node(
        INST, tmp_path, "in", ports, admin_token="t", kubeconfig=kubeconfig
    )
    assert (containerd.key, kubelet.key) == ("containerd/in", "kubelet/in")
    assert kubelet.after == ("containerd/in", "apiserver/in")
    assert kubelet.argv[0] == "/opt/kubelet/kubelet"
    assert f"--kubeconfig={kubeconfig}" in kubelet.argv
    assert "--hostname-override=node-in" in kubelet.argv
    assert "--node-ip=10.202.5.1" in kubelet.argv
    home = real_nodes.node_home(tmp_path, "in")
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
