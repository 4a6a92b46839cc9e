"""A hub and five regional Kubernetes clusters for the operator's e2e tests, with the operator
running under exactly the RBAC it ships.

Starts its own stack (``scripts/stack up --regions 5 --only k8s,redis`` in a separate run
folder, so it never disturbs the session's stack), then sets the clusters up as a platform
engineer would: CRDs and the operator's RBAC in the hub, each region enrolled with
``gavel operator enrol`` (regional RBAC, a ServiceAccount token, the kubeconfig Secret in the
hub), and the example Regions pointed at the local Redis servers. Checks go through kubectl as
the admin.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from gavel import endpoints
from gavel.redis_acl import Role
from gavel_devstack import install, stack
from gavel_devstack.harness.processes import free_port, start_logged, stop_process
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import poll
from gavel_operator import enrolment, rbac
from tests.conftest import ROOT

REGIONS = ("us", "eu", "in", "ap", "sa")
OPERATOR_NS = "gavel-system"
DROPS_NS = "merch"
STACK_ARGS = ["up", "--regions", str(len(REGIONS)), "--only", "k8s,redis,nodes"]


@dataclass
class Clusters:
    run_dir: Path
    env: dict[str, str]

    def kubeconfig(self, cluster: str) -> str:
        return self.env[f"KUBECONFIG_{cluster.upper()}"]

    def redis_url(self, region: str) -> str:
        """``region``'s Redis as the stack's administrator (set-up and checks)."""
        return Stack(self.env).redis_url(region)

    def kubectl(
        self, cluster: str, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        kubectl = install.k8s_dir() / "bin" / "kubectl"
        proc = subprocess.run(
            [str(kubectl), "--kubeconfig", self.kubeconfig(cluster), *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} on {cluster}: {proc.stderr}")
        return proc

    def apply(self, cluster: str, objects: list[dict[str, Any]]) -> None:
        self.kubectl(cluster, "apply", "-f", "-", stdin=yaml.safe_dump_all(objects))

    def get(self, cluster: str, *args: str) -> dict[str, Any] | None:
        """``kubectl get ... -o json``, or None when it is not found or the cluster is down."""
        proc = self.kubectl(cluster, "get", *args, "-o", "json", check=False)
        return json.loads(proc.stdout) if proc.returncode == 0 else None

    def stop_apiserver(self, region: str) -> None:
        state = stack.load_state(self.run_dir)
        assert state is not None
        rec = state.running[f"apiserver/{region}"]
        # An outage, not a shutdown: a graceful stop would wait for the watches of the
        # region's controllers to end.
        os.kill(rec.pid, signal.SIGKILL)
        poll(lambda: not rec.alive(), timeout_s=30, what=f"apiserver/{region} to stop")

    def restart_stopped(self) -> None:
        run_stack(self.run_dir, *STACK_ARGS)


def run_stack(run_dir: Path, *args: str) -> str:
    proc = subprocess.run(
        [str(ROOT / "scripts" / "stack"), *args, "--dir", str(run_dir)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, f"scripts/stack {' '.join(args)}:\n{proc.stderr}"
    return proc.stdout


def start_clusters(run_dir: Path) -> Clusters:
    run_stack(run_dir, *STACK_ARGS)
    out = run_stack(run_dir, "env")
    env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return Clusters(run_dir, env)


def service_account_kubeconfig(
    clusters: Clusters, cluster: str, namespace: str, account: str
) -> dict[str, Any]:
    """A self-contained kubeconfig (CA inlined) for a ServiceAccount's fresh token."""
    token = clusters.kubectl(
        cluster, "create", "token", account, "-n", namespace, "--duration", "4h"
    ).stdout.strip()
    admin = json.loads(Path(clusters.kubeconfig(cluster)).read_text())
    entry = admin["clusters"][0]["cluster"]
    ca = Path(entry["certificate-authority"]).read_bytes()
    return enrolment.kubeconfig_for(cluster, entry["server"], ca, token)


def example_regions(clusters: Clusters) -> list[dict[str, Any]]:
    """examples/regions.yaml, pointed at this stack's Redis servers (a Region names a Redis, never
    a login: the operator logs in with its own, :meth:`Operator.start`)."""
    docs = list(yaml.safe_load_all((ROOT / "examples" / "regions.yaml").read_text()))
    for doc in docs:
        name = doc["metadata"]["name"]
        doc["spec"]["endpoints"]["redisUrl"] = clusters.env[endpoints.redis_url_var(name)]
    return docs


def set_up(clusters: Clusters, work: Path) -> Path:
    """CRDs, RBAC and kubeconfig Secrets; returns the operator's (restricted) hub kubeconfig."""
    clusters.kubectl("hub", "apply", "-f", str(ROOT / "crds"))
    clusters.apply(
        "hub",
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
            for n in (OPERATOR_NS, DROPS_NS)
        ],
    )
    clusters.apply("hub", rbac.hub(OPERATOR_NS))
    for region in REGIONS:  # as a platform engineer enrols each regional cluster
        proc = subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "gavel"),
                "operator",
                "enrol",
                region,
                "--kubeconfig",
                clusters.kubeconfig(region),
                "--hub-kubeconfig",
                clusters.kubeconfig("hub"),
                "--namespace",
                OPERATOR_NS,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
    clusters.kubectl("hub", "wait", "--for=condition=Established", "crd", "--all")
    hub = work / "operator-hub.kubeconfig"
    hub.write_text(json.dumps(service_account_kubeconfig(clusters, "hub", OPERATOR_NS, rbac.NAME)))
    return hub


@dataclass
class Operator:
    """``gavel operator run`` as a subprocess."""

    kubeconfig: Path
    log: Path
    redis_login: str = ""
    """The operator's ``USER:PASSWORD`` for every Region's Redis (``REDIS_AUTH_OPERATOR``)."""
    metrics_port: int = field(default_factory=free_port)
    tick_s: float = 1.0
    """Half the shipped default (2 s, gavel_operator.settings.TICK_S): quicker tests."""
    proc: subprocess.Popen[bytes] | None = None

    @property
    def settle_s(self) -> float:
        """How long to watch before saying the operator did *not* do something: three ticks.
        Its timers wait a tick after each run ends, so a change made just after a run began
        is first seen by the run after, which starts up to two ticks later; one more to let
        that run finish."""
        return 3 * self.tick_s

    def metrics(self) -> str:
        """The operator's /metrics page ("" while it does not answer)."""
        try:
            return httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2).text
        except httpx.HTTPError:
            return ""

    def start(self) -> None:
        login = {endpoints.redis_auth_var(Role.OPERATOR): self.redis_login}
        self.proc = start_logged(
            [str(ROOT / ".venv" / "bin" / "gavel"), "operator", "run", "--liveness-port", "0"],
            self.log,
            {
                "KUBECONFIG": str(self.kubeconfig),
                "GAVEL_OPERATOR_NAMESPACE": OPERATOR_NS,
                "GAVEL_OPERATOR_TICK_S": str(self.tick_s),
                "GAVEL_OPERATOR_METRICS_PORT": str(self.metrics_port),
                **(login if self.redis_login else {}),
            },
        )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None:
            stop_process(self.proc, sig)
            self.proc = None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
