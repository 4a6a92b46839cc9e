"""Builds and downloads of the local stack's servers, cached outside the clone.

Called by :mod:`gavel_devstack.stack` before anything starts. Each artifact set lives in
``$GAVEL_CACHE`` (default ``~/.cache/gavel``) under a folder named for its version, and is made
by a shell script in ``scripts/lib`` that marks a finished copy with a stamp file. CI clones the
repository afresh on the same machine, so only the first run ever pays for a build.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from gavel_devstack import progress, versions


class InstallError(RuntimeError):
    """A build or download failed; the message carries the tail of its output."""


def repo_root() -> Path:
    """The clone this code runs from: ``$GAVEL_ROOT`` (every ``scripts/`` wrapper exports it),
    else the nearest folder above this file that holds ``scripts/stack``.

    This package is never installed from a wheel, only put on the path by the editable install,
    so its source always sits inside the clone it belongs to.
    """
    env = os.environ.get("GAVEL_ROOT")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for folder in here.parents:
        if (folder / "scripts" / "stack").is_file():
            return folder
    raise InstallError(f"no Gavel clone (a folder with scripts/stack) above {here}; set GAVEL_ROOT")


def cache_dir() -> Path:
    """Where builds and downloads are kept, keyed by version."""
    env = os.environ.get("GAVEL_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "gavel"


@dataclass(frozen=True, slots=True)
class Installed:
    """Where each component's binaries or jars are."""

    k8s_bin: Path
    nodes_bin: Path
    kafka_lib: Path
    cassandra_lib: Path
    java: Path
    redis_server: Path
    kubelet_bin: Path = Path()
    """kubelet, kube-proxy and the pause binary (the ``kubelet`` component); empty when not
    asked for."""
    coredns_bin: Path = Path()
    """CoreDNS, the real nodes' cluster DNS (the ``kubelet`` component)."""


STAMPS = (".built", ".fetched")
"""Files the build scripts write into a finished cache folder."""


def _run(argv: list[str], what: str, out: Path) -> None:
    """Run one build script for the cache folder ``out``, holding a lock beside it.

    Two stacks may start at once on one machine (a test's throwaway clusters beside the shared
    stack, two clones): without the lock both build into the same ``.partial`` folder and one
    deletes what the other is writing. The second waits, says so, then finds the stamp and
    returns. The build's output goes to ``<cache>/logs/<folder>.log`` and its progress to
    stderr (:mod:`gavel_devstack.progress`), since a first build takes minutes."""
    if any((out / stamp).exists() for stamp in STAMPS):
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    with (out.parent / f".{out.name}.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress.err.print(
                f"{what}: waiting for another process doing the same", markup=False, highlight=False
            )
            fcntl.flock(lock, fcntl.LOCK_EX)
        if any((out / stamp).exists() for stamp in STAMPS):
            return
        try:
            progress.run_step(argv, what, cache_dir() / "logs" / f"{out.name}.log")
        except progress.StepError as exc:
            raise InstallError(str(exc)) from exc


def k8s_dir() -> Path:
    return cache_dir() / f"k8s-{versions.KUBERNETES}"


def nodes_dir() -> Path:
    return cache_dir() / f"nodes-{versions.KUBERNETES}-kwok-{versions.KWOK}"


def kubelet_dir() -> Path:
    return cache_dir() / f"kubelet-{versions.KUBERNETES}"


def coredns_dir() -> Path:
    return cache_dir() / f"coredns-{versions.COREDNS}"


def kafka_dir() -> Path:
    return cache_dir() / f"kafka-{versions.KAFKA}"


def cassandra_dir() -> Path:
    return cache_dir() / f"cassandra-{versions.CASSANDRA}"


def helm_dir() -> Path:
    return cache_dir() / f"helm-{versions.HELM}"


def _go_tool(name: str, version: str, out: Path, *extra: str) -> Path:
    """The binary ``name`` in ``out``, built by ``scripts/lib/build-<name>.sh`` on first use
    (``extra``: the script's further arguments)."""
    script = repo_root() / "scripts" / "lib" / f"build-{name}.sh"
    _run(["bash", str(script), version, str(out), *extra], f"building {name} {version}", out)
    return out / "bin" / name


def ensure_helm() -> Path:
    """The ``helm`` binary, built on first use (a few minutes) and cached like Kubernetes.

    Not part of :func:`ensure`: the stack never runs Helm, only the chart's tests do.
    """
    return _go_tool("helm", versions.HELM, helm_dir())


def promtool_dir() -> Path:
    # The folder names the build's tags too: a build with the cloud plugins is another build.
    return cache_dir() / f"promtool-{versions.PROMTOOL}-{versions.PROMTOOL_TAGS}"


def ensure_promtool() -> Path:
    """The ``promtool`` binary, built on first use like :func:`ensure_helm`.

    Not part of :func:`ensure`: only scripts/check-rules runs it, on the chart's alert rules.
    """
    return _go_tool("promtool", versions.PROMTOOL, promtool_dir(), versions.PROMTOOL_TAGS)


def is_installed(component: str) -> bool:
    """Whether ``component``'s artifacts are already cached (so ``up`` will not build)."""
    stamps = {
        "k8s": k8s_dir() / ".built",
        "nodes": nodes_dir() / ".built",
        "kubelet": kubelet_dir() / ".built",
        "kafka": kafka_dir() / ".fetched",
        "cassandra": cassandra_dir() / ".fetched",
    }
    stamp = stamps.get(component)
    if component == "kubelet" and not all(
        (d / ".built").exists() for d in (coredns_dir(), nodes_dir())
    ):
        # A real node also runs CoreDNS and, without KWOK, the controllers and scheduler.
        return False
    return stamp is None or stamp.exists()


NODE_PACKAGES = {
    "containerd": "containerd",
    "nsenter": "util-linux",
    "iptables": "iptables",
    "ctr": "containerd",
    "runc": "runc",
    "ip": "iproute2",
    "/usr/lib/cni/bridge": "containernetworking-plugins",
}
"""What a real node (the ``kubelet`` component) needs from Debian: command or file -> package."""


def _check_node_packages() -> None:
    missing = sorted(
        {
            pkg
            for need, pkg in NODE_PACKAGES.items()
            if not (Path(need).exists() if need.startswith("/") else shutil.which(need))
        }
    )
    if missing:
        raise InstallError(
            f"real nodes need Debian packages that are missing: apt-get install {' '.join(missing)}"
        )


def ensure(components: set[str]) -> Installed:
    """Build or download whatever ``components`` need and is not cached yet."""
    lib = repo_root() / "scripts" / "lib"
    if "kubelet" in components:
        _check_node_packages()
    if "k8s" in components:
        _run(
            ["bash", str(lib / "build-k8s.sh"), versions.KUBERNETES, str(k8s_dir())],
            f"building Kubernetes {versions.KUBERNETES}",
            k8s_dir(),
        )
    if components & {"nodes", "kubelet"}:
        # The controllers and the scheduler also serve a real node without KWOK.
        _run(
            [
                "bash",
                str(lib / "build-nodes.sh"),
                versions.KUBERNETES,
                versions.KWOK,
                str(nodes_dir()),
            ],
            f"building kube-controller-manager, kube-scheduler and KWOK {versions.KWOK}",
            nodes_dir(),
        )
    if "kubelet" in components:
        _run(
            ["bash", str(lib / "build-kubelet.sh"), versions.KUBERNETES, str(kubelet_dir())],
            f"building kubelet and the pause binary {versions.KUBERNETES}",
            kubelet_dir(),
        )
        _run(
            ["bash", str(lib / "build-coredns.sh"), versions.COREDNS, str(coredns_dir())],
            f"building CoreDNS {versions.COREDNS}",
            coredns_dir(),
        )
    if components & {"kafka", "mirror"}:
        _run(
            [
                "bash",
                str(lib / "fetch-jars.sh"),
                str(lib / "poms" / "kafka.xml"),
                versions.KAFKA,
                str(kafka_dir()),
            ],
            f"fetching Kafka {versions.KAFKA}",
            kafka_dir(),
        )
    if "cassandra" in components:
        _run(
            [
                "bash",
                str(lib / "fetch-jars.sh"),
                str(lib / "poms" / "cassandra.xml"),
                versions.CASSANDRA,
                str(cassandra_dir()),
            ],
            f"fetching Cassandra {versions.CASSANDRA}",
            cassandra_dir(),
        )
    java = Path(versions.JAVA_HOME) / "bin" / "java"
    redis = shutil.which("redis-server")
    if "redis" in components and not redis:
        raise InstallError("redis-server is not installed: run scripts/bootstrap")
    return Installed(
        k8s_bin=k8s_dir() / "bin",
        nodes_bin=nodes_dir() / "bin",
        kafka_lib=kafka_dir() / "lib",
        cassandra_lib=cassandra_dir() / "lib",
        java=java,
        redis_server=Path(redis or "redis-server"),
        kubelet_bin=kubelet_dir() / "bin",
        coredns_bin=coredns_dir() / "bin",
    )
