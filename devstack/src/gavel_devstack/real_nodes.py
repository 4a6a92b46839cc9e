"""The ``kubelet`` component: one real node per region, whose pods are real containers.

Each region gets a containerd (CRI, runc, the CNI bridge) with the pause, CoreDNS and Gavel
images imported, a kubelet registered to the region's API server as ``node-<region>``, and a
kube-proxy; CoreDNS runs as the node's static pod behind the ``kube-dns`` Service. Called by
:mod:`gavel_devstack.components` beside :mod:`gavel_devstack.clusters`; the files come from
:mod:`gavel_devstack.node_config` and :mod:`gavel_devstack.node_services`, the host work from
:mod:`gavel_devstack.node_host`. containerd and kube-proxy run in the node's own network
namespace, so several nodes' kube-proxies never rewrite each other's iptables (docs/decisions.md).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from gavel_devstack import configs, layout, node_config, node_host, node_network, node_services
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
    taint: bool,
) -> list[Component]:
    """containerd, kubelet and kube-proxy of ``region``'s real node. ``taint``: keep the
    scheduler's pods off it (KWOK's fake nodes share the cluster)."""
    net = node_config.node_net(ports.block, region)
    home = node_home(run_dir, region)
    socket = node_config.containerd_socket(home)
    apiserver_port = ports.regions[region].k8s.apiserver
    ca_file = run_dir / "k8s" / region / "certs" / "apiserver.crt"
    containerd = Component(
        "containerd",
        region,
        NO_PORT,
        node_network.in_netns(net, ["containerd", "--config", str(home / "containerd.toml")]),
        partial(node_host.containerd_ready, socket),
        timeout_s=60,
        files={
            home / "containerd.toml": node_config.containerd_toml(home, node_host.PAUSE_IMAGE, net),
            home / "cni" / "10-gavel.conflist": node_config.cni_conflist(net, home / "ipam"),
            **node_config.registry_guard_files(home),
        },
        prepare=partial(node_host.prepare, net, ports.block),
        when_ready=partial(node_host.load_images, socket, inst),
    )
    dns_dir = home / "coredns"
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
            f"--node-ip={net.host_ip}",
            "--v=1",
        ],
        partial(node_host.kubelet_ready, net, apiserver_port, admin_token),
        timeout_s=90,
        files={
            home / "kubelet.yaml": node_config.kubelet_yaml(net, home, taint=taint),
            dns_dir / "Corefile": node_services.corefile(),
            dns_dir / "kubeconfig": node_services.coredns_kubeconfig(
                net, apiserver_port, admin_token
            ),
            node_config.static_pods_dir(home) / "coredns.json": node_services.coredns_pod(
                dns_dir, ca_file
            ),
        },
        after=(containerd.key, f"apiserver/{region}"),
        when_ready=partial(node_host.ensure_dns_service, net, apiserver_port, admin_token),
    )
    proxy_kubeconfig = home / "kube-proxy.kubeconfig"
    kube_proxy = Component(
        "kube-proxy",
        region,
        NO_PORT,
        node_network.in_netns(
            net,
            [
                str(inst.kubelet_bin / "kube-proxy"),
                f"--config={home / 'kube-proxy.yaml'}",
                "--v=1",
            ],
        ),
        partial(node_host.kube_proxy_ready, net, apiserver_port, admin_token),
        timeout_s=90,
        files={
            home / "kube-proxy.yaml": node_services.kube_proxy_yaml(net, proxy_kubeconfig),
            proxy_kubeconfig: configs.kubeconfig(
                region, apiserver_port, admin_token, ca_file, host=net.host_ip
            ),
        },
        after=(kubelet.key,),
    )
    return [containerd, kubelet, kube_proxy]
