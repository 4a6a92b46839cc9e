"""The local Kubernetes clusters as stack components: etcd and kube-apiserver for the hub and
every region (``k8s``), and beside each regional API server the controllers, the scheduler and
KWOK's fake nodes (``nodes``).

Pure: :func:`gavel_devstack.components.plan` calls these builders with the run folder's
credentials and each cluster's kubeconfig path, so nothing here reads or writes a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from gavel_devstack import configs, layout, probes
from gavel_devstack.component import NO_PORT, Component
from gavel_devstack.install import Installed

HUB_SERVICE_CIDR = "10.0.0.0/24"
"""The hub's ClusterIP range; it has no real node, so nothing routes it."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the clusters' processes authenticate with, kept in the run folder."""

    admin_token: str
    """Static token of the admin user (``system:masters``) in every API server."""
    service_account_key: Path
    """Private key that signs service-account tokens (the API server, the controllers)."""
    service_account_pub: Path
    """Its public half, which the API server verifies tokens with."""


def control_plane(
    inst: Installed,
    run_dir: Path,
    cluster: str,
    ports: layout.ClusterPorts,
    *,
    creds: Credentials,
    kubeconfig: Path,
    service_cidr: str = HUB_SERVICE_CIDR,
) -> list[Component]:
    """etcd and kube-apiserver of ``cluster`` (the hub or a region), with its admin kubeconfig.
    ``service_cidr``: its ClusterIP range (a region's is its own, routed to its real node)."""
    home = run_dir / "k8s" / cluster
    peer = f"http://127.0.0.1:{ports.etcd_peer}"
    client = f"http://127.0.0.1:{ports.etcd_client}"
    etcd = Component(
        "etcd",
        cluster,
        ports.etcd_client,
        [
            str(inst.k8s_bin / "etcd"),
            "--name",
            cluster,
            "--data-dir",
            str(home / "etcd"),
            "--listen-client-urls",
            client,
            "--advertise-client-urls",
            client,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            f"{cluster}={peer}",
            "--unsafe-no-fsync",
            "--quota-backend-bytes",
            str(512 * 1024 * 1024),
            "--log-level",
            "warn",
        ],
        partial(probes.etcd_ready, ports.etcd_client),
        timeout_s=60,
        files={home / "etcd" / ".keep": ""},
    )
    token = creds.admin_token
    tokens = home / "tokens.csv"
    apiserver = Component(
        "apiserver",
        cluster,
        ports.apiserver,
        [
            str(inst.k8s_bin / "kube-apiserver"),
            f"--etcd-servers={client}",
            f"--cert-dir={home / 'certs'}",
            f"--secure-port={ports.apiserver}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--service-cluster-ip-range={service_cidr}",
            "--allow-privileged=true",
            # Real nodes' names do not resolve; their InternalIP is their bridge address.
            "--kubelet-preferred-address-types=InternalIP",
            "--authorization-mode=RBAC",
            "--disable-admission-plugins=ServiceAccount",
            "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={creds.service_account_pub}",
            f"--service-account-signing-key-file={creds.service_account_key}",
            f"--token-auth-file={tokens}",
            "--enable-priority-and-fairness=false",
            "--profiling=false",
            "--v=1",
        ],
        partial(probes.apiserver_ready, ports.apiserver, token),
        timeout_s=120,
        files={
            tokens: configs.token_auth_csv(token),
            kubeconfig: configs.kubeconfig(
                cluster, ports.apiserver, token, home / "certs" / "apiserver.crt"
            ),
        },
        after=(etcd.key,),
    )
    return [etcd, apiserver]


def nodes(
    inst: Installed,
    run_dir: Path,
    region: str,
    ports: layout.RegionPorts,
    *,
    creds: Credentials,
    kubeconfig: Path,
) -> list[Component]:
    """What runs a region's pods without a kubelet: the controllers and the scheduler
    (:func:`control_loops`) and KWOK (fake nodes report the pods running)."""
    home = run_dir / "k8s" / region
    token = creds.admin_token
    apiserver = f"apiserver/{region}"
    kwok = Component(
        "kwok",
        region,
        ports.kwok,
        [
            str(inst.nodes_bin / "kwok"),
            f"--kubeconfig={kubeconfig}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--server-address=127.0.0.1:{ports.kwok}",
            "--cidr=10.244.0.0/16",
            "--node-ip=127.0.0.1",
            "--node-lease-duration-seconds=40",
            f"--config={home / 'kwok.yaml'}",
        ],
        partial(probes.healthz, f"http://127.0.0.1:{ports.kwok}/healthz"),
        timeout_s=60,
        files={home / "kwok.yaml": configs.kwok_stages()},
        after=(apiserver,),
        when_ready=partial(probes.ensure_fake_nodes, ports.k8s.apiserver, token),
    )
    return [*control_loops(inst, run_dir, region, ports, creds=creds, kubeconfig=kubeconfig), kwok]


def control_loops(
    inst: Installed,
    run_dir: Path,
    region: str,
    ports: layout.RegionPorts,
    *,
    creds: Credentials,
    kubeconfig: Path,
) -> list[Component]:
    """The controllers (Deployments make pods, HPAs scale them, Services get EndpointSlices)
    and the scheduler (pods go to nodes) of a region: with KWOK (``nodes``) or a real node."""
    home = run_dir / "k8s" / region
    token = creds.admin_token
    apiserver = f"apiserver/{region}"
    controllers = Component(
        "controllers",
        region,
        NO_PORT,
        [
            str(inst.nodes_bin / "kube-controller-manager"),
            f"--kubeconfig={kubeconfig}",
            "--secure-port=0",
            "--leader-elect=false",
            f"--service-account-private-key-file={creds.service_account_key}",
            f"--root-ca-file={home / 'certs' / 'apiserver.crt'}",
            "--use-service-account-credentials=false",
            "--horizontal-pod-autoscaler-sync-period=5s",
            "--v=1",
        ],
        # The service-account controller gives every namespace its "default" account.
        partial(
            probes.api_object_exists,
            ports.k8s.apiserver,
            token,
            "/api/v1/namespaces/default/serviceaccounts/default",
        ),
        timeout_s=60,
        after=(apiserver,),
    )
    scheduler = Component(
        "scheduler",
        region,
        ports.scheduler,
        [
            str(inst.nodes_bin / "kube-scheduler"),
            f"--kubeconfig={kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports.scheduler}",
            "--v=1",
        ],
        partial(probes.healthz, f"https://127.0.0.1:{ports.scheduler}/healthz"),
        timeout_s=60,
        after=(apiserver,),
    )
    return [controllers, scheduler]
