"""The host side of a real node (the ``kubelet`` component): its bridge and cgroups, the images
its containerd holds, readiness checks, and the clean-up ``down`` does after stopping it.

Called by :mod:`gavel_devstack.real_nodes` (prepare, probes, image loading) and
:mod:`gavel_devstack.stack` (clean-up). Images come from podman (``scripts/image build``),
exported once per image id into the cache and imported with ``ctr``: nothing is pulled.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from gavel_devstack import image, install, layout, node_network, node_services, probes, versions
from gavel_devstack.node_config import (
    CGROUP_CONTROLLERS,
    KUBE_PROXY_HEALTHZ_PORT,
    KUBELET_HEALTHZ_PORT,
    NodeNet,
    guard_problem,
    node_net,
)
from gavel_devstack.podman import podman_env

PAUSE_IMAGE = f"localhost/gavel/pause:{versions.KUBERNETES}"
"""The pods' sandbox image: a static binary built with the kubelet, in a ``FROM scratch`` image."""

_CGROUPS = Path("/sys/fs/cgroup")


class NodeError(RuntimeError):
    """The node's host set-up or its images failed; the message says what to do."""


def _run(argv: list[str], what: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise NodeError(f"{what} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return proc.stdout


def _link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def prepare(net: NodeNet, block: int) -> None:
    """Check that containerd keeps the registry guard, then make the node's network namespace
    and link (:mod:`gavel_devstack.node_network`) and its root cgroup."""
    problem = guard_problem(_run(["containerd", "--version"], "asking containerd's version"))
    if problem:
        raise NodeError(problem)
    node_network.set_up(net, block)
    for controller in CGROUP_CONTROLLERS:
        if (_CGROUPS / controller).is_dir():
            (_CGROUPS / controller / net.cgroup_root.lstrip("/")).mkdir(exist_ok=True)


def containerd_ready(socket: Path) -> bool:
    if not socket.exists():
        return False
    proc = subprocess.run(
        ["ctr", "--address", str(socket), "version"], capture_output=True, check=False
    )
    return proc.returncode == 0


def kubelet_ready(net: NodeNet, apiserver_port: int, token: str) -> bool:
    """Whether the node's kubelet answers its health check and its Node reports Ready.

    Both: a Node left from an earlier run still says Ready until its lease runs out."""
    url = f"http://{net.host_ip}:{KUBELET_HEALTHZ_PORT}/healthz"
    return probes.healthz(url) and _ready(apiserver_port, token, f"/api/v1/nodes/{net.name}")


def kube_proxy_ready(net: NodeNet, apiserver_port: int, token: str) -> bool:
    """kube-proxy answers its health check (it has synced its rules once) and the node's
    CoreDNS pod is Ready, so a Service name resolves the moment ``up`` returns."""
    url = f"http://{net.netns_ip}:{KUBE_PROXY_HEALTHZ_PORT}/healthz"
    dns = f"/api/v1/namespaces/{node_services.DNS_NAMESPACE}/pods/coredns-{net.name}"
    return probes.healthz(url) and _ready(apiserver_port, token, dns)


def _api(apiserver_port: int, token: str, method: str, path: str, body: object = None) -> Any:
    return httpx.request(
        method,
        f"https://127.0.0.1:{apiserver_port}{path}",
        headers={"Authorization": f"Bearer {token}"},
        json=body,
        timeout=5,
        verify=False,  # noqa: S501 - the local API server's certificate is self-signed
    )


def _ready(apiserver_port: int, token: str, path: str) -> bool:
    """Whether the Node or Pod at ``path`` has the condition Ready."""
    try:
        r = _api(apiserver_port, token, "GET", path)
    except httpx.HTTPError:
        return False
    if r.status_code != 200:
        return False
    conditions = r.json().get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def ensure_dns_service(net: NodeNet, apiserver_port: int, token: str) -> None:
    """Create the ``kube-dns`` Service (at the kubelet's ``clusterDNS`` address) if missing."""
    service = node_services.dns_service(net)
    path = f"/api/v1/namespaces/{node_services.DNS_NAMESPACE}/services"
    # Asked first: creating it again fails on its address before its name.
    if _api(apiserver_port, token, "GET", f"{path}/kube-dns").status_code == 200:
        return
    r = _api(apiserver_port, token, "POST", path, service)
    if r.status_code == 422 and "does not match" in r.text:
        # The cluster's etcd was made with the range all clusters once shared (10.0.0.0/24):
        # its default ServiceCIDR keeps that range whatever the API server's flag now says.
        raise NodeError(
            f"the cluster's Services still use the range of a stack made before real nodes "
            f"had their own ({net.service_cidr} is not in it): run scripts/stack down --purge "
            f"and up again"
        )
    if r.status_code not in (201, 409):
        raise NodeError(f"creating the kube-dns Service failed ({r.status_code}): {r.text}")


# --- images --------------------------------------------------------------------------------------


def _exports_dir() -> Path:
    return install.cache_dir() / "node-images"


@contextlib.contextmanager
def _export_lock() -> Iterator[None]:
    _exports_dir().mkdir(parents=True, exist_ok=True)
    with (_exports_dir() / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _image_id(tag: str, env: dict[str, str]) -> str | None:
    proc = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Id}}", tag],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def _ensure_static(tag: str, binary: Path, env: dict[str, str]) -> None:
    """``tag``: a ``FROM scratch`` image of one static ``binary``, its entry point."""
    if _image_id(tag, env):
        return
    name = binary.name
    with tempfile.TemporaryDirectory() as ctx:
        (Path(ctx) / name).write_bytes(binary.read_bytes())
        (Path(ctx) / name).chmod(0o755)
        (Path(ctx) / "Containerfile").write_text(
            f'FROM scratch\nCOPY {name} /{name}\nENTRYPOINT ["/{name}"]\n'
        )
        _run(["podman", "build", "-q", "-t", tag, ctx], f"building the image {tag}", env)


def static_images(inst: install.Installed) -> dict[str, Path]:
    """The images made here from one static binary each: the sandbox's pause and CoreDNS."""
    return {
        PAUSE_IMAGE: inst.kubelet_bin / "pause",
        node_services.COREDNS_IMAGE: inst.coredns_bin / "coredns",
    }


def exported(tag: str, binary: Path | None = None) -> Path:
    """An OCI archive of podman's ``tag``, made once per image id (first built from ``binary``,
    a static one, when given)."""
    env = podman_env()
    with _export_lock():
        if binary is not None:
            _ensure_static(tag, binary, env)
        image_id = _image_id(tag, env)
        if image_id is None:
            raise NodeError(f"image {tag} is not in podman: run scripts/image build first")
        archive = _exports_dir() / f"{image_id}.tar"
        if not archive.exists():
            partial = archive.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            _run(
                ["podman", "save", "--format", "oci-archive", "-o", str(partial), tag],
                f"exporting {tag}",
                env,
            )
            partial.replace(archive)
    return archive


def load_images(socket: Path, inst: install.Installed) -> None:
    """Import the sandbox, CoreDNS and Gavel images into the node's containerd."""
    tags: dict[str, Path | None] = {**static_images(inst), image.IMAGE_TAG: None}
    for tag, binary in tags.items():
        archive = exported(tag, binary)
        _run(
            ["ctr", "--address", str(socket), "-n", "k8s.io", "images", "import", str(archive)],
            f"importing {tag} into the node",
        )


# --- clean-up ------------------------------------------------------------------------------------


def _kill_cgroup_tree(root: Path) -> bool:
    """SIGKILL every process under ``root`` and remove its cgroups; True once it is gone."""
    if not root.exists():
        return True
    for procs in root.rglob("cgroup.procs"):
        with contextlib.suppress(OSError):
            for pid in procs.read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            folder.rmdir()
    with contextlib.suppress(OSError):
        root.rmdir()
    return not root.exists()


def _mounts_under(folder: Path) -> list[str]:
    prefix = f"{folder}/"
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point.startswith(prefix):
            points.append(point)
    return sorted(points, key=len, reverse=True)


def clean_up(run_dir: Path, block: int) -> list[str]:
    """After the kubelets and containerds stopped: kill their containers, unmount their root
    filesystems, volumes and network namespaces, delete the nodes' namespaces, links and
    forwarding rules. Returns what it did."""
    done = []
    for region in layout.REGION_NAMES:
        net = node_net(block, region)
        roots = [_CGROUPS / c / net.cgroup_root.lstrip("/") for c in CGROUP_CONTROLLERS]
        if any(r.exists() for r in roots):
            deadline = time.monotonic() + 10
            while not all(_kill_cgroup_tree(r) for r in roots) and time.monotonic() < deadline:
                time.sleep(0.2)
            done.append(f"containers of {net.name}")
        # A bridge on the host is from before nodes had their own namespace.
        if _link_exists(net.bridge):
            subprocess.run(["ip", "link", "del", net.bridge], capture_output=True, check=False)
            done.append(f"bridge {net.bridge}")
        done += node_network.tear_down(net, block)
    points = _mounts_under(run_dir)
    for point in points:
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    if points:
        done.append(f"{len(points)} mounts")
    return done
