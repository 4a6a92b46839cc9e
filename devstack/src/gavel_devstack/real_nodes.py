"""The ``kubelet`` component: one real node per region, whose pods are real containers.

Each region gets a containerd (CRI, runc, the CNI bridge) with the pause and Gavel images
imported, and a kubelet registered to the region's API server as ``node-<region>``. Called by
:mod:`gavel_devstack.components` beside :mod:`gavel_devstack.clusters`; the files come from
:mod:`gavel_devstack.node_config`, the host work from :mod:`gavel_devstack.node_host`.
No kube-proxy: every node shares the host's network namespace, and kube-proxies of several
clusters would rewrite each other's iptables chains (docs/decisions.md).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from gavel_devstack import layout, node_config, node_host
from gavel_devstack.component import NO_PORT, Component
from gavel_devstack.install import Installed


def node_home(run_dir: Path, region: str) -> Path:
    """Short on purpose: containerd's and the kubelet's sockets live below it (108 bytes max)."""
    return run_dir / f"node-{region}"


def real_node(
    inst: Installed,
    run_dir: Path,
    region: str,
    ports: layout.StackPorts,
    *,
    admin_token: str,
    kubeconfig: Path,
) -> list[Component]:
    """containerd and kubelet of ``region``'s real node."""
    net = node_config.node_net(ports.block, region)
    home = node_home(run_dir, region)
    socket = node_config.containerd_socket(home)
    containerd = Component(
        "containerd",
        region,
        NO_PORT,
        ["containerd", "--config", str(home / "containerd.toml")],
        partial(node_host.containerd_ready, socket),
        timeout_s=60,
        files={
            home / "containerd.toml": node_config.containerd_toml(home, node_host.PAUSE_IMAGE),
            home / "cni" / "10-gavel.conflist": node_config.cni_conflist(net, home / "ipam"),
            **node_config.registry_guard_files(home),
        },
        prepare=partial(node_host.prepare, net),
        when_ready=partial(node_host.load_images, socket, inst.kubelet_bin),
    )
    kubelet = Component(
        "kubelet",
        region,
        NO_PORT,
        [
            str(inst.kubelet_bin / "kubelet"),
            f"--config={home / 'kubelet.yaml'}",
            f"--kubeconfig={kubeconfig}",
            f"--root-dir={home / 'kubelet'}",
            f"--cert-dir={home / 'kubelet' / 'pki'}",
            f"--hostname-override={net.name}",
            f"--node-ip={net.gateway}",
            "--v=1",
        ],
        partial(node_host.kubelet_ready, net, ports.regions[region].k8s.apiserver, admin_token),
        timeout_s=90,
        files={home / "kubelet.yaml": node_config.kubelet_yaml(net, home)},
        after=(containerd.key, f"apiserver/{region}"),
    )
    return [containerd, kubelet]
