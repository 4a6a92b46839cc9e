"""The host side of a real node's network (the ``kubelet`` component): its network namespace,
the veth link to the host, the host's routes into it, and the one forwarding rule that lets its
pods reach the stack's servers on loopback.

Called by :mod:`gavel_devstack.node_host` (``prepare`` and ``clean_up``). The addresses come
from :func:`gavel_devstack.node_config.node_net`; docs/dev-stack.md ("Services and DNS") draws
the picture. Every step is idempotent, so ``up`` on a half-made node finishes it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from gavel_devstack import layout
from gavel_devstack.node_config import LINK_PREFIX, NodeNet

NETNS_DIR = Path("/run/netns")
NODE_LINK = "eth0"
"""The node's end of the veth pair, inside its namespace."""


class NetworkError(RuntimeError):
    """A command setting up a node's network failed; the message carries its error."""


def _run(argv: list[str], what: str) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise NetworkError(f"{what} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def netns_path(net: NodeNet) -> Path:
    return NETNS_DIR / net.netns


def in_netns(net: NodeNet, argv: list[str]) -> list[str]:
    """``argv`` run in the node's network namespace only (not ``ip netns exec``, which also
    unshares the mount namespace: containerd's mounts must stay visible to the kubelet)."""
    return ["nsenter", f"--net={netns_path(net)}", "--", *argv]


def forward_rules(net: NodeNet, block: int) -> list[tuple[str, list[str]]]:
    """The host's NAT rules (chain, rule) that take TCP from the node to the host's end of the
    link, on a port of this stack's block, to the same port on loopback, where the stack's
    servers listen: the destination becomes 127.0.0.1 on the way in (``PREROUTING``) and so
    does the source at delivery (``INPUT``), so a server sees a loopback client (Redis refuses
    others while it has no password: its protected mode). Only this block's ports: pods never
    reach another stack or a host service."""
    first, last = layout.block_ports(block)
    ports = ["-p", "tcp", "--dport", f"{first}:{last}"]
    comment = ["-m", "comment", "--comment", f"gavel stack block {block} node {net.name}"]
    to_loopback = ["-i", net.host_link, "-d", f"{net.host_ip}/32", *ports, *comment]
    from_loopback = ["-i", net.host_link, "-d", "127.0.0.1/32", *ports, *comment]
    return [
        ("PREROUTING", [*to_loopback, "-j", "DNAT", "--to-destination", "127.0.0.1"]),
        ("INPUT", [*from_loopback, "-j", "SNAT", "--to-source", "127.0.0.1"]),
    ]


def _iptables(op: str, chain: str, rule: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["iptables", "-w", "5", "-t", "nat", op, chain, *rule],
        capture_output=True,
        text=True,
        check=False,
    )


def _sysctl(path: Path, value: str) -> None:
    path.write_text(value)


def set_up(net: NodeNet, block: int) -> None:
    """Make the node's namespace and link, route its pods and Services from the host, and let
    its pods reach the stack's loopback servers at the host's end of the link."""
    if Path("/sys/class/net", net.bridge).exists():
        # The node's bridge on the host: left by a stack from before nodes had a namespace.
        _run(["ip", "link", "del", net.bridge], f"deleting the old host bridge {net.bridge}")
    if not netns_path(net).exists():
        _run(["ip", "netns", "add", net.netns], f"creating network namespace {net.netns}")
    if not Path("/sys/class/net", net.host_link).exists():
        _run(
            [
                *("ip", "link", "add", net.host_link, "type", "veth"),
                *("peer", "name", NODE_LINK, "netns", net.netns),
            ],
            f"creating the link {net.host_link}",
        )
    _run(
        ["ip", "addr", "replace", f"{net.host_ip}/{LINK_PREFIX}", "dev", net.host_link],
        "host link address",
    )
    _run(["ip", "link", "set", net.host_link, "up"], "starting the host link")
    ns = ["ip", "-n", net.netns]
    _run([*ns, "addr", "replace", f"{net.netns_ip}/{LINK_PREFIX}", "dev", NODE_LINK], "node addr")
    _run([*ns, "link", "set", NODE_LINK, "up"], "starting the node link")
    _run([*ns, "link", "set", "lo", "up"], "starting the node's loopback")
    _run([*ns, "route", "replace", "default", "via", net.host_ip], "the node's default route")
    # Pods and Services are routed into the node; the host itself forwards nothing, so a pod's
    # packet for anywhere else ends at the host.
    _run(["ip", "route", "replace", net.routed, "via", net.netns_ip], "routing the node")
    # Inside the node: route between the link and the bridge, and let kube-proxy's rules see
    # bridged traffic (a pod calling a Service whose pod is on the same bridge).
    _run(
        in_netns(
            net,
            [
                "sh",
                "-c",
                "echo 1 > /proc/sys/net/ipv4/ip_forward && "
                "echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables",
            ],
        ),
        "the node's forwarding settings",
    )
    # The forwarding rule rewrites to 127.0.0.1, which the kernel only routes for packets of an
    # interface with route_localnet.
    _sysctl(Path("/proc/sys/net/ipv4/conf", net.host_link, "route_localnet"), "1")
    for chain, rule in forward_rules(net, block):
        if _iptables("-C", chain, rule).returncode != 0:
            added = _iptables("-A", chain, rule)
            if added.returncode != 0:
                raise NetworkError(f"adding the host's {chain} rule failed: {added.stderr.strip()}")


def tear_down(net: NodeNet, block: int) -> list[str]:
    """Undo :func:`set_up` (after the node's processes are gone); returns what it removed."""
    done = []
    for chain, rule in forward_rules(net, block):
        while _iptables("-D", chain, rule).returncode == 0:
            done.append(f"{chain} rule of {net.name}")
    if Path("/sys/class/net", net.host_link).exists():
        # Deleting one end deletes the pair and the host's route through it.
        subprocess.run(["ip", "link", "del", net.host_link], capture_output=True, check=False)
        done.append(f"link {net.host_link}")
    if netns_path(net).exists():
        subprocess.run(["ip", "netns", "del", net.netns], capture_output=True, check=False)
        done.append(f"network namespace {net.netns}")
    return done
