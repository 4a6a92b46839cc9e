"""A real node of a local cluster (the ``kubelet`` component): its names, network and the
configuration files of its containerd, CNI bridge and kubelet. Pure: text in, text out.

:mod:`gavel_devstack.real_nodes` builds the node's components from these; the host side (the
bridge, cgroups, images, clean-up) is :mod:`gavel_devstack.node_host`. docs/dev-stack.md ("real
nodes") says why each setting is there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from gavel_devstack import layout

CNI_BIN = Path("/usr/lib/cni")
"""Where Debian's ``containernetworking-plugins`` puts the bridge, host-local and loopback."""

RUNC = Path("/usr/sbin/runc")

KUBELET_PORT = 10250
"""Each node listens on its own bridge address, so every node can use the usual ports."""
KUBELET_HEALTHZ_PORT = 10248

CGROUP_CONTROLLERS = (
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "pids",
    "hugetlb",
    "systemd",
)
"""The cgroup v1 hierarchies a node's root cgroup is made in (the kubelet checks them all)."""

REAL_NODE_TAINT = {"key": "gavel.dev/real-node", "value": "true", "effect": "NoSchedule"}
"""Keeps the scheduler's pods (the operator's rendered Deployments, on KWOK's fake nodes when
``nodes`` runs too) off the real node unless they tolerate it: their images may not be there.
A pod bound with ``nodeName`` is not affected."""

REGISTRY_GUARD = "127.0.0.1:9"
"""Where every image pull of a real node is sent: loopback's discard port, which nothing serves,
so any pull fails at once ("connection refused") with no DNS query and no packet off the host."""

GUARD_SINCE = (1, 6, 17)
"""The first containerd that reads a registry hosts folder's ``_default``; older ones would send a
pull to the image's real registry."""

_SUBNET_FIRST_OCTET = 200
"""A node's addresses are in 10.(200 + region index).(port block).0/24: unique per live stack and
region, clear of podman's 10.88.0.0/16. The /24 holds the pods (.0/25), the Services (.128/26)
and the link between the host and the node's network namespace (.252/30)."""

DNS_OFFSET = 10
"""The cluster DNS Service's address: the 10th of the Service range, as kubeadm picks it."""

CLUSTER_DOMAIN = "cluster.local"

KUBE_PROXY_HEALTHZ_PORT = 10256
KUBE_PROXY_METRICS_PORT = 10249


@dataclass(frozen=True, slots=True)
class NodeNet:
    """Where one real node lives on the host.

    The node has its own network namespace (containerd, the CNI bridge and kube-proxy run in it,
    so kube-proxies of several nodes never touch each other's iptables), joined to the host by a
    veth pair. The kubelet stays on the host and listens on the host end."""

    name: str
    """The Node object's name in its cluster."""
    netns: str
    """The node's network namespace (``/run/netns/<netns>``)."""
    bridge: str
    """The Linux bridge its pods' veths join, inside the node's namespace (15 characters max)."""
    host_link: str
    """The host end of the veth pair (15 characters max); the node end is ``eth0``."""
    subnet: str
    """The pods' addresses."""
    gateway: str
    """The bridge's own address: the pods' default route, inside the node's namespace."""
    service_cidr: str
    """The region's ClusterIP range (its API server's ``--service-cluster-ip-range``)."""
    dns_ip: str
    """The cluster DNS Service's ClusterIP (the kubelet's ``clusterDNS``)."""
    host_ip: str
    """The host end of the link: the node's InternalIP, where its kubelet listens, and the
    address at which pods reach the stack's servers (the host forwards it to loopback)."""
    netns_ip: str
    """The node end of the link: the host routes the pods and Services through it."""
    routed: str
    """What the host routes into the node: the pods and the Services."""
    cgroup_root: str
    """The node's own cgroup, so two kubelets on one host never touch each other's pods."""


def node_net(block: int, region: str) -> NodeNet:
    """The network and cgroup of ``region``'s real node in the stack holding port ``block``."""
    if region not in layout.REGION_NAMES:
        raise ValueError(f"unknown region {region!r}; choose from {list(layout.REGION_NAMES)}")
    if not 0 <= block < layout.BLOCKS:
        raise ValueError(f"port block {block} outside 0..{layout.BLOCKS - 1}")
    index = layout.REGION_NAMES.index(region)
    prefix = f"10.{_SUBNET_FIRST_OCTET + index}.{block}"
    return NodeNet(
        name=f"node-{region}",
        netns=f"gavel-{block}-{region}",
        bridge=f"gvl{block}-{region}",
        host_link=f"gvh{block}-{region}",
        subnet=f"{prefix}.0/25",
        gateway=f"{prefix}.1",
        service_cidr=f"{prefix}.128/26",
        dns_ip=f"{prefix}.{128 + DNS_OFFSET}",
        host_ip=f"{prefix}.253",
        netns_ip=f"{prefix}.254",
        routed=f"{prefix}.0/24",
        cgroup_root=f"/gavel-node-{block}-{region}",
    )


LINK_PREFIX = 30
"""The host-node link's prefix length: .252/30 holds exactly the two ends."""


def containerd_socket(home: Path) -> Path:
    return home / "containerd.sock"


def static_pods_dir(home: Path) -> Path:
    """The kubelet's ``staticPodPath``: pods it runs from files (CoreDNS), no controller needed."""
    return home / "manifests"


def registry_hosts_dir(home: Path) -> Path:
    return home / "registries"


def registry_guard_files(home: Path) -> dict[Path, str]:
    """The CRI's registry hosts folder: only ``_default``, which containerd 1.6.17+ uses for
    every registry host without a folder of its own, pointing at :data:`REGISTRY_GUARD`.

    Both halves matter, as a mistake fails open, to the image's real registry: containerd 1.6
    cannot parse a hosts.toml without a ``[host]`` table, and without ``server`` it appends the
    image's registry after the listed hosts."""
    guard = f"http://{REGISTRY_GUARD}"
    text = "\n".join(
        [
            "# Written by scripts/stack (gavel_devstack.node_config): no registry is ever reached.",
            f'server = "{guard}"',
            'capabilities = ["pull", "resolve"]',
            f'[host."{guard}"]',
            '  capabilities = ["pull", "resolve"]',
            "",
        ]
    )
    return {registry_hosts_dir(home) / "_default" / "hosts.toml": text}


def guard_problem(containerd_version: str) -> str | None:
    """Why the containerd printing ``containerd_version`` (its ``--version`` line) cannot keep
    the guard, or None when it can."""
    found = re.search(r"\sv?(\d+)\.(\d+)\.(\d+)", containerd_version)
    if found is None:
        return f"cannot read containerd's version from {containerd_version.strip()!r}"
    major, minor, patch = (int(part) for part in found.groups())
    if (major, minor, patch) < GUARD_SINCE:
        since = ".".join(map(str, GUARD_SINCE))
        return (
            f"containerd {major}.{minor}.{patch} ignores the registry guard's _default hosts "
            f"folder (read since {since}), so pulls could reach a real registry: install {since}+"
        )
    return None


def containerd_toml(home: Path, pause_image: str, net: NodeNet) -> str:
    """containerd 1.6's settings: everything under ``home``, CRI on, every pull sent to the
    guard (:func:`registry_guard_files`), its exec/attach streams on the node's end of the link
    (it runs in the node's namespace; the kubelet, on the host, proxies them)."""
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return "\n".join(
        [
            "# Written by scripts/stack (gavel_devstack.node_config).",
            "version = 2",
            f'root = "{home / "root"}"',
            f'state = "{home / "state"}"',
            "[grpc]",
            f'  address = "{containerd_socket(home)}"',
            "[ttrpc]",
            f'  address = "{home / "containerd-ttrpc.sock"}"',
            "[debug]",
            '  address = ""',
            "[metrics]",
            '  address = ""',
            f"[{cri}]",
            f'  sandbox_image = "{pause_image}"',
            # Root here lacks CAP_SYS_RESOURCE: an oom_score_adj below containerd's own fails.
            "  restrict_oom_score_adj = true",
            # Pod network namespaces under the state folder, so `down` finds and unmounts them.
            "  netns_mounts_under_state_dir = true",
            "  disable_apparmor = true",
            f'  stream_server_address = "{net.netns_ip}"',
            '  stream_server_port = "0"',
            f"[{cri}.registry]",
            f'  config_path = "{registry_hosts_dir(home)}"',
            f"[{cri}.cni]",
            f'  bin_dir = "{CNI_BIN}"',
            f'  conf_dir = "{home / "cni"}"',
            f"[{cri}.containerd]",
            '  snapshotter = "overlayfs"',
            '  default_runtime_name = "runc"',
            f"[{cri}.containerd.runtimes.runc]",
            '  runtime_type = "io.containerd.runc.v2"',
            f"[{cri}.containerd.runtimes.runc.options]",
            f'  BinaryName = "{RUNC}"',
            # cgroupfs: this host has no systemd managing cgroups, and the kubelet must agree.
            "  SystemdCgroup = false",
            "",
        ]
    )


def cni_conflist(net: NodeNet, ipam_dir: Path) -> str:
    """A bridge network without masquerading, routed through the node: pods reach each other,
    the node's Services and the host (which forwards nothing further)."""
    return json.dumps(
        {
            "cniVersion": "1.0.0",
            "name": net.bridge,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": net.bridge,
                    "isGateway": True,
                    # The pods' default route: Services, the host's servers and other nodes
                    # are all off the bridge's subnet.
                    "isDefaultGateway": True,
                    "ipMasq": False,
                    # A pod reaching itself through its own Service.
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": net.subnet, "gateway": net.gateway}]],
                        "dataDir": str(ipam_dir),
                    },
                },
                {"type": "loopback"},
            ],
        },
        indent=2,
    )


def kubelet_yaml(net: NodeNet, home: Path, *, taint: bool) -> str:
    """The kubelet's KubeletConfiguration (JSON, which is YAML). ``taint``: register with
    :data:`REAL_NODE_TAINT` (when KWOK's fake nodes share the cluster)."""
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # Kubernetes 1.35+ refuses cgroup v1 hosts unless told; this VM's cgroups are v1.
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": net.cgroup_root,
        "containerRuntimeEndpoint": f"unix://{containerd_socket(home)}",
        "address": net.host_ip,
        "port": KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": net.host_ip,
        "healthzPort": KUBELET_HEALTHZ_PORT,
        # Only the local API server reaches this address; it presents no client certificate.
        "authentication": {"anonymous": {"enabled": True}, "webhook": {"enabled": False}},
        "authorization": {"mode": "AlwaysAllow"},
        # Lowering a score needs CAP_SYS_RESOURCE, which root lacks here.
        "oomScoreAdj": 0,
        "failSwapOn": False,
        # Images come from an import, never a registry: garbage-collecting one loses it.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        # A developer machine's disk is often fuller than the defaults allow.
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
        },
        # Pods resolve through the cluster DNS only: no host search domain or nameserver, so
        # no name ever leaves the host (CoreDNS answers the cluster's names and nothing else).
        "resolvConf": "",
        "clusterDNS": [net.dns_ip],
        "clusterDomain": CLUSTER_DOMAIN,
        "staticPodPath": str(static_pods_dir(home)),
        # Not the host's /var/log/pods: kubelets of several nodes would share (and clean up)
        # one folder, and it would outlive the run folder.
        "podLogsDir": str(home / "pod-logs"),
        "podPidsLimit": 4096,
        "serializeImagePulls": False,
        "registerWithTaints": [REAL_NODE_TAINT] if taint else [],
    }
    return json.dumps(config, indent=2)
