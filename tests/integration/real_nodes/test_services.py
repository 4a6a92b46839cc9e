"""Services and cluster DNS on a real node: kube-proxy in the node's network namespace, CoreDNS
as its static pod, and the stack's servers reached from pods at the host's end of the link
(the folder's shared stack, ``conftest.node``)."""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any

import httpx

from gavel import endpoints
from gavel.redis_acl import Role
from gavel_devstack.harness.processes import free_port
from gavel_devstack.harness.waiting import poll
from tests.integration.real_nodes.conftest import Node


def _python_pod(node: Node, name: str, image: str, code: str, **env: object) -> dict[str, Any]:
    """The JSON a one-off pod's Python ``code`` prints (with ``env`` in its environment), once
    the pod succeeded."""
    container = {
        "name": "x",
        "image": image,
        "command": ["python3", "-c", code],
        "env": [{"name": k, "value": str(v)} for k, v in env.items()],
    }
    node.run_pod(name, {"restartPolicy": "Never", "containers": [container]})
    phase, log = node.finished(name)
    assert phase == "Succeeded", log
    return dict(json.loads(log.strip().splitlines()[-1]))


def _web(node: Node, image: str) -> str:
    """A pod serving HTTP on 8000 behind the Service ``web`` (port 80); its ClusterIP."""
    labels = {"app": "web"}
    node.run_pod(
        "web",
        {
            "containers": [
                {
                    "name": "web",
                    "image": image,
                    "command": ["python3", "-m", "http.server", "8000"],
                    "readinessProbe": {"tcpSocket": {"port": 8000}, "periodSeconds": 1},
                }
            ]
        },
        labels,
    )
    node.apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8000}]},
        }
    )
    node.ready("web")
    return str(json.loads(node.kubectl("get", "service", "web", "-o", "json"))["spec"]["clusterIP"])


def test_a_cluster_ip_reaches_its_pod_from_the_host_and_from_other_pods_by_name(
    node: Node, image: str
) -> None:
    cluster_ip = _web(node, image)
    assert ipaddress.ip_address(cluster_ip) in ipaddress.ip_network(node.net.service_cidr)

    def from_host() -> int | None:
        try:
            return httpx.get(f"http://{cluster_ip}/", timeout=3).status_code
        except httpx.HTTPError:
            return None  # kube-proxy syncs its rules within a second of the endpoints

    assert poll(from_host, timeout_s=30, what="the Service to answer the host") == 200
    fetch = (
        "import json, os, urllib.request as u\n"
        "get = lambda url: u.urlopen(url, timeout=5).status\n"
        "print(json.dumps({'ip': get('http://%s/' % os.environ['IP']), "
        "'name': get('http://web/'), 'fqdn': get('http://web.default.svc.cluster.local/')}))"
    )
    found = _python_pod(node, "web-client", image, fetch, IP=cluster_ip)
    assert found == {"ip": 200, "name": 200, "fqdn": 200}


def test_pods_resolve_the_clusters_names_and_nothing_beyond_it(node: Node, image: str) -> None:
    code = (
        "import json, socket\n"
        "def look(name):\n"
        "    try:\n"
        "        return sorted({a[4][0] for a in socket.getaddrinfo(name, 80)})\n"
        "    except socket.gaierror as e:\n"
        "        return 'error %s' % e.errno\n"
        "print(json.dumps({n: look(n) for n in ("
        "'kube-dns.kube-system.svc.cluster.local', 'kubernetes.default', 'example.com')}))"
    )
    found = _python_pod(node, "dns-client", image, code)
    assert found["kube-dns.kube-system.svc.cluster.local"] == [node.net.dns_ip]
    api_ip = found["kubernetes.default"][0]
    assert ipaddress.ip_address(api_ip) in ipaddress.ip_network(node.net.service_cidr)
    # CoreDNS forwards nothing: a public name fails in the pod, and no query leaves the host.
    assert str(found["example.com"]).startswith("error")


def test_pods_reach_the_stacks_servers_at_the_hosts_address_and_no_other_host_port(
    node: Node, image: str
) -> None:
    # A loopback server outside the stack's port block: the host must not forward to it.
    outside = free_port()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", outside))
        listener.listen()
        code = (
            "import json, os, socket, redis\n"
            "host = os.environ['HOST']\n"
            "def tcp(port):\n"
            "    try:\n"
            "        socket.create_connection((host, port), timeout=3).close()\n"
            "        return 'open'\n"
            "    except OSError as e:\n"
            "        return type(e).__name__\n"
            "user, _, password = os.environ['LOGIN'].partition(':')\n"
            "r = redis.Redis(host=host, port=int(os.environ['REDIS']), socket_timeout=5,\n"
            "                username=user, password=password)\n"
            "print(json.dumps({'redis': r.ping(), 'outside': tcp(int(os.environ['OUTSIDE']))}))"
        )
        found = _python_pod(
            node,
            "host-client",
            image,
            code,
            HOST=node.net.host_ip,
            REDIS=node.ports.redis,
            LOGIN=node.env[endpoints.redis_auth_var(Role.GATEWAY)],
            OUTSIDE=outside,
        )
    assert found["redis"] is True
    assert found["outside"] != "open"
