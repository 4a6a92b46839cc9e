from __future__ import annotations

import json
from pathlib import Path

from gavel_devstack import node_config, node_services

NET = node_config.node_net(3, "us")


def test_kube_proxy_listens_in_the_node_and_leaves_the_kernels_conntrack_alone() -> None:
    conf = json.loads(node_services.kube_proxy_yaml(NET, Path("/n/kube-proxy.kubeconfig")))
    assert conf["mode"] == "iptables"
    assert conf["hostnameOverride"] == NET.name
    assert conf["healthzBindAddress"] == f"{NET.netns_ip}:{node_config.KUBE_PROXY_HEALTHZ_PORT}"
    assert conf["clusterCIDR"] == NET.subnet
    assert conf["clientConnection"]["kubeconfig"] == "/n/kube-proxy.kubeconfig"
    # A network namespace may not set nf_conntrack_max; 0 leaves every size as it is.
    assert conf["conntrack"]["maxPerCore"] == conf["conntrack"]["min"] == 0
    assert conf["oomScoreAdj"] == 0


def test_coredns_answers_the_cluster_domain_and_forwards_nothing() -> None:
    corefile = node_services.corefile()
    assert "kubernetes cluster.local in-addr.arpa ip6.arpa" in corefile
    assert "forward" not in corefile
    assert f"ready :{node_services.COREDNS_READY_PORT}" in corefile


def test_coredns_reaches_the_api_server_through_the_host_and_checks_its_certificate() -> None:
    conf = json.loads(node_services.coredns_kubeconfig(NET, 21010, "tok"))
    cluster = conf["clusters"][0]["cluster"]
    assert cluster["server"] == f"https://{NET.host_ip}:21010"
    assert cluster["tls-server-name"] == "127.0.0.1"
    assert "insecure-skip-tls-verify" not in cluster
    assert conf["users"][0]["user"] == {"token": "tok"}


def test_coredns_is_a_static_pod_of_the_imported_image_behind_the_kube_dns_service() -> None:
    pod = json.loads(node_services.coredns_pod(Path("/n/coredns"), Path("/k/apiserver.crt")))
    (container,) = pod["spec"]["containers"]
    assert container["image"] == node_services.COREDNS_IMAGE
    assert container["imagePullPolicy"] == "Never"
    assert pod["spec"]["dnsPolicy"] == "Default"
    volumes = {v["name"]: v["hostPath"]["path"] for v in pod["spec"]["volumes"]}
    assert volumes == {"config": "/n/coredns", "ca": "/k/apiserver.crt"}
    service = node_services.dns_service(NET)
    assert service["spec"]["clusterIP"] == NET.dns_ip
    assert service["spec"]["selector"] == pod["metadata"]["labels"]
    assert {(p["port"], p["protocol"]) for p in service["spec"]["ports"]} == {
        (53, "UDP"),
        (53, "TCP"),
    }
