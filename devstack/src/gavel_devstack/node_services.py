"""Services and cluster DNS on a real node (the ``kubelet`` component): kube-proxy's settings,
CoreDNS's Corefile and static pod, and the ``kube-dns`` Service. Pure: text in, text out.

:mod:`gavel_devstack.real_nodes` writes these files beside the node's containerd and kubelet
(:mod:`gavel_devstack.node_config`); :mod:`gavel_devstack.node_host` creates the Service.
kube-proxy and the CNI bridge live in the node's own network namespace, so the iptables rules
of each node's kube-proxy stay in it. docs/dev-stack.md ("Services and DNS") says why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gavel_devstack import versions
from gavel_devstack.node_config import (
    CLUSTER_DOMAIN,
    KUBE_PROXY_HEALTHZ_PORT,
    KUBE_PROXY_METRICS_PORT,
    NodeNet,
)

COREDNS_IMAGE = f"localhost/gavel/coredns:{versions.COREDNS}"
"""CoreDNS's static binary in a ``FROM scratch`` image, imported like the pause image."""

DNS_LABELS = {"k8s-app": "kube-dns"}
DNS_NAMESPACE = "kube-system"
COREDNS_READY_PORT, COREDNS_HEALTH_PORT = 8181, 8080

_CONFIG_IN_POD = "/etc/coredns"
_CA_IN_POD = "/etc/coredns-ca/ca.crt"


def kube_proxy_yaml(net: NodeNet, kubeconfig: Path) -> str:
    """kube-proxy's KubeProxyConfiguration (JSON, which is YAML): iptables mode in the node's
    namespace, listening on the node's end of the link."""
    config = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "mode": "iptables",
        "hostnameOverride": net.name,
        "bindAddress": net.netns_ip,
        "healthzBindAddress": f"{net.netns_ip}:{KUBE_PROXY_HEALTHZ_PORT}",
        "metricsBindAddress": f"{net.netns_ip}:{KUBE_PROXY_METRICS_PORT}",
        # Traffic from outside the pods (the host, the test process) to a Service is
        # masqueraded, so the pod's answer comes back through the node.
        "clusterCIDR": net.subnet,
        "nodePortAddresses": [f"{net.netns_ip}/32"],
        # 0: leave the kernel's conntrack settings alone; a network namespace may not set
        # nf_conntrack_max, and the host's defaults serve a few test connections.
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
        "iptables": {"minSyncPeriod": "1s", "syncPeriod": "30s"},
        # Lowering a score needs CAP_SYS_RESOURCE, which root lacks here (as for the kubelet).
        "oomScoreAdj": 0,
    }
    return json.dumps(config, indent=2)


def corefile() -> str:
    """The cluster's names and nothing else: no ``forward``, so no query leaves the host."""
    return "\n".join(
        [
            ".:53 {",
            "    errors",
            f"    health :{COREDNS_HEALTH_PORT}",
            f"    ready :{COREDNS_READY_PORT}",
            f"    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{",
            f"        kubeconfig {_CONFIG_IN_POD}/kubeconfig",
            "        pods insecure",
            "        fallthrough in-addr.arpa ip6.arpa",
            "    }",
            "    cache 30",
            "}",
            "",
        ]
    )


def coredns_kubeconfig(net: NodeNet, apiserver_port: int, token: str) -> str:
    """How CoreDNS, in a pod, reaches the region's API server: through the host's end of the
    link (forwarded to loopback), checking the certificate made for 127.0.0.1."""
    conf = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "local",
                "cluster": {
                    "server": f"https://{net.host_ip}:{apiserver_port}",
                    "certificate-authority": _CA_IN_POD,
                    "tls-server-name": "127.0.0.1",
                },
            }
        ],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": "admin"}}],
        "current-context": "local",
    }
    return json.dumps(conf, indent=2) + "\n"


def coredns_pod(config_dir: Path, ca_file: Path) -> str:
    """CoreDNS as a static pod of the node (no controller needed to run it), its Corefile and
    kubeconfig from ``config_dir`` and the API server's CA from ``ca_file`` on the host."""
    probe: dict[str, Any] = {"periodSeconds": 2, "timeoutSeconds": 2}
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "coredns", "namespace": DNS_NAMESPACE, "labels": DNS_LABELS},
        "spec": {
            # Its own resolver is not itself.
            "dnsPolicy": "Default",
            "containers": [
                {
                    "name": "coredns",
                    "image": COREDNS_IMAGE,
                    "imagePullPolicy": "Never",
                    "args": ["-conf", f"{_CONFIG_IN_POD}/Corefile"],
                    "ports": [
                        {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                        {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                    ],
                    "readinessProbe": probe
                    | {"httpGet": {"path": "/ready", "port": COREDNS_READY_PORT}},
                    "livenessProbe": probe
                    | {"httpGet": {"path": "/health", "port": COREDNS_HEALTH_PORT}},
                    "resources": {
                        "requests": {"cpu": "50m", "memory": "32Mi"},
                        "limits": {"memory": "128Mi"},
                    },
                    "securityContext": {
                        "readOnlyRootFilesystem": True,
                        "allowPrivilegeEscalation": False,
                    },
                    "volumeMounts": [
                        {"name": "config", "mountPath": _CONFIG_IN_POD, "readOnly": True},
                        {"name": "ca", "mountPath": _CA_IN_POD, "readOnly": True},
                    ],
                }
            ],
            "volumes": [
                {"name": "config", "hostPath": {"path": str(config_dir), "type": "Directory"}},
                {"name": "ca", "hostPath": {"path": str(ca_file), "type": "File"}},
            ],
        },
    }
    return json.dumps(pod, indent=2)


def dns_service(net: NodeNet) -> dict[str, Any]:
    """The ``kube-dns`` Service at the kubelet's ``clusterDNS`` address, in front of CoreDNS."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": DNS_NAMESPACE, "labels": DNS_LABELS},
        "spec": {
            "selector": DNS_LABELS,
            "clusterIP": net.dns_ip,
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP"},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
            ],
        },
    }
