from __future__ import annotations

import ipaddress
import json
import re
import tomllib
from pathlib import Path

import pytest

from gavel_devstack import layout, node_config

NET = node_config.node_net(3, "us")


def test_every_live_stack_and_region_gets_its_own_namespace_addresses_and_cgroup() -> None:
    nets = [
        node_config.node_net(block, region)
        for block in range(layout.BLOCKS)
        for region in layout.REGION_NAMES
    ]
    for attr in ("netns", "host_link", "routed", "service_cidr", "host_ip", "cgroup_root"):
        values = [getattr(n, attr) for n in nets]
        assert len(set(values)) == len(values), attr
    # Linux refuses interface names over 15 bytes.
    assert max(len(n.bridge) for n in nets) <= 15
    assert max(len(n.host_link) for n in nets) <= 15
    # Clear of podman's own bridge network.
    assert not any(n.routed.startswith("10.88.") for n in nets)


def test_pods_services_and_the_link_share_the_routed_range_without_overlapping() -> None:
    net = node_config.node_net(7, "eu")
    routed = ipaddress.ip_network(net.routed)
    assert routed == ipaddress.ip_network("10.201.7.0/24")
    pods = ipaddress.ip_network(net.subnet)
    services = ipaddress.ip_network(net.service_cidr)
    link = ipaddress.ip_network(f"{net.host_ip}/{node_config.LINK_PREFIX}", strict=False)
    for part in (pods, services, link):
        assert part.subnet_of(routed)
    assert not pods.overlaps(services)
    assert not pods.overlaps(link)
    assert not services.overlaps(link)
    assert ipaddress.ip_address(net.gateway) in pods
    assert ipaddress.ip_address(net.dns_ip) in services
    assert ipaddress.ip_address(net.netns_ip) in link
    assert (net.name, net.gateway, net.host_ip) == ("node-eu", "10.201.7.1", "10.201.7.253")


@pytest.mark.parametrize(("block", "region"), [(-1, "us"), (layout.BLOCKS, "us"), (0, "mars")])
def test_an_impossible_node_is_refused_with_the_allowed_values(block: int, region: str) -> None:
    with pytest.raises(ValueError, match=r"region|block"):
        node_config.node_net(block, region)


def test_containerd_keeps_everything_in_the_node_folder_and_never_lowers_oom_scores(
    tmp_path: Path,
) -> None:
    conf = tomllib.loads(node_config.containerd_toml(tmp_path, "localhost/p:1", NET))
    assert conf["root"].startswith(str(tmp_path))
    assert conf["state"].startswith(str(tmp_path))
    assert conf["grpc"]["address"] == str(node_config.containerd_socket(tmp_path))
    cri = conf["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["restrict_oom_score_adj"] is True
    assert cri["netns_mounts_under_state_dir"] is True
    assert cri["sandbox_image"] == "localhost/p:1"
    assert cri["cni"]["conf_dir"].startswith(str(tmp_path))
    runc = cri["containerd"]["runtimes"]["runc"]["options"]
    assert runc["SystemdCgroup"] is False
    # containerd runs in the node's namespace: its streams must be where the kubelet reaches.
    assert cri["stream_server_address"] == NET.netns_ip


def test_the_pod_network_is_a_bridge_that_never_masquerades(tmp_path: Path) -> None:
    net = node_config.node_net(3, "us")
    conf = json.loads(node_config.cni_conflist(net, tmp_path))
    bridge = conf["plugins"][0]
    assert (bridge["type"], bridge["bridge"], bridge["ipMasq"]) == ("bridge", net.bridge, False)
    assert bridge["hairpinMode"] is True
    assert bridge["isDefaultGateway"] is True
    assert bridge["ipam"]["ranges"] == [[{"subnet": net.subnet, "gateway": net.gateway}]]


def test_the_kubelet_runs_on_cgroup_v1_in_its_own_cgroup_on_its_own_address(
    tmp_path: Path,
) -> None:
    net = node_config.node_net(3, "us")
    conf = json.loads(node_config.kubelet_yaml(net, tmp_path, taint=False))
    assert conf["failCgroupV1"] is False
    assert conf["cgroupDriver"] == "cgroupfs"
    assert conf["cgroupRoot"] == net.cgroup_root
    assert conf["address"] == conf["healthzBindAddress"] == net.host_ip
    assert conf["oomScoreAdj"] == 0
    assert conf["readOnlyPort"] == 0
    assert conf["containerRuntimeEndpoint"].endswith(str(node_config.containerd_socket(tmp_path)))
    assert conf["podLogsDir"].startswith(str(tmp_path))


def test_beside_fake_nodes_the_real_node_is_tainted_so_only_pods_that_ask_land_there(
    tmp_path: Path,
) -> None:
    net = node_config.node_net(3, "us")
    conf = json.loads(node_config.kubelet_yaml(net, tmp_path, taint=True))
    assert conf["registerWithTaints"] == [node_config.REAL_NODE_TAINT]
    assert node_config.REAL_NODE_TAINT["effect"] == "NoSchedule"
    alone = json.loads(node_config.kubelet_yaml(net, tmp_path, taint=False))
    assert alone["registerWithTaints"] == []


def test_pods_resolve_through_the_cluster_dns_only(tmp_path: Path) -> None:
    net = node_config.node_net(3, "us")
    conf = json.loads(node_config.kubelet_yaml(net, tmp_path, taint=False))
    assert conf["clusterDNS"] == [net.dns_ip]
    assert conf["clusterDomain"] == "cluster.local"
    # No host resolv.conf: no host search domain or nameserver reaches a pod.
    assert conf["resolvConf"] == ""
    assert conf["staticPodPath"] == str(node_config.static_pods_dir(tmp_path))


def test_every_registry_host_resolves_and_pulls_from_the_closed_loopback_guard(
    tmp_path: Path,
) -> None:
    conf = tomllib.loads(node_config.containerd_toml(tmp_path, "localhost/p:1", NET))
    hosts_dir = Path(conf["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["config_path"])
    files = node_config.registry_guard_files(tmp_path)
    # Only the fallback folder: a registry's own folder would take precedence over it.
    assert list(files) == [hosts_dir / "_default" / "hosts.toml"]
    hosts = tomllib.loads(files[hosts_dir / "_default" / "hosts.toml"])
    # containerd 1.6 rejects a file without a [host] table and then pulls from the image's
    # registry; without a server it appends that registry after the hosts. Both name the guard.
    guard = {"capabilities": ["pull", "resolve"]}
    assert hosts == {"server": "http://127.0.0.1:9", **guard, "host": {"http://127.0.0.1:9": guard}}
    assert node_config.REGISTRY_GUARD == "127.0.0.1:9"


def test_the_guard_lives_in_the_node_folder_and_replaces_the_legacy_mirror_settings(
    tmp_path: Path,
) -> None:
    registry = tomllib.loads(node_config.containerd_toml(tmp_path, "localhost/p:1", NET))[
        "plugins"
    ]["io.containerd.grpc.v1.cri"]["registry"]
    # containerd refuses config_path beside mirrors or configs; none are set.
    assert registry == {"config_path": str(node_config.registry_hosts_dir(tmp_path))}
    assert node_config.registry_hosts_dir(tmp_path).parent == tmp_path


@pytest.mark.parametrize(
    "line",
    [
        "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3",
        "containerd github.com/containerd/containerd v1.6.17 1234abcd",
        "containerd github.com/containerd/containerd v1.7.0 1234abcd",
        "containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193",
    ],
)
def test_a_containerd_that_reads_the_default_hosts_folder_is_accepted(line: str) -> None:
    assert node_config.guard_problem(line) is None


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("containerd github.com/containerd/containerd 1.6.16~ds1 x", r"1\.6\.16 ignores.*1\.6\.17"),
        ("containerd github.com/containerd/containerd v1.5.9 x", r"1\.5\.9 ignores"),
        ("containerd: command output nobody expected", r"cannot read .*nobody expected"),
    ],
)
def test_a_containerd_that_would_ignore_the_guard_is_refused_with_the_reason(
    line: str, problem: str
) -> None:
    assert re.search(problem, node_config.guard_problem(line) or "")
