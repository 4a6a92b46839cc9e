"""The operator's Helm chart, checked by Helm itself and by a real API server.

``helm lint`` and ``helm template`` run the pinned Helm (built once into the cache, see
``scripts/lib/build-helm.sh``); the rendered objects and the chart's CRDs then go to the local
stack's hub API server as a server-side dry run, so the API server validates every field
(securityContext, probes, RBAC rules) without the operator actually being installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gavel_devstack.harness.stack_env import Stack
from tests.integration.charts.conftest import (
    CHART,
    NAMESPACE,
    assert_schema_refuses,
    run,
    server_dry_run,
    template,
)


def _deployment(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    return deployment


def _env(deployment: dict[str, Any]) -> dict[str, str]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"]}


def test_helm_lints_the_chart(helm: Path) -> None:
    out = run([helm, "lint", "--strict", CHART])
    assert "0 chart(s) failed" in out.stdout


def test_the_rendered_chart_and_its_crds_pass_a_server_dry_run(
    helm: Path, stack: Stack, tmp_path: Path
) -> None:
    objects = template(helm, "--include-crds")
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == sorted(
        [
            "ClusterRole",
            "ClusterRoleBinding",
            "CustomResourceDefinition",
            "CustomResourceDefinition",
            "Deployment",
            "Role",
            "RoleBinding",
            "ServiceAccount",
        ]
    )
    namespaced = [o for o in objects if "namespace" in o["metadata"]]
    assert {o["metadata"]["namespace"] for o in namespaced} == {NAMESPACE}

    lines = server_dry_run(stack, objects, tmp_path)
    assert len(lines) == len(objects), lines
    assert all(line.endswith("(server dry run)") for line in lines), lines


def test_one_replica_recreated_never_rolled(helm: Path) -> None:
    spec = _deployment(template(helm))["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "gavel-operator"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert container["command"] == ["gavel", "operator", "run", "--liveness-port", "8085"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "healthz"}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def test_the_settings_follow_the_values(helm: Path) -> None:
    defaults = _env(_deployment(template(helm)))
    assert defaults == {
        "GAVEL_OPERATOR_NAMESPACE": NAMESPACE,
        "GAVEL_OPERATOR_TICK_S": "2",
        "GAVEL_OPERATOR_RESYNC_S": "300",
        "GAVEL_OPERATOR_METRICS_PORT": "9090",
        "GAVEL_IMAGE": "ghcr.io/gavel-dev/gavel:0.1.0",
        "GAVEL_REDIS_IMAGE": "redis:7.0",
        "GAVEL_KAFKA_IMAGE": "apache/kafka:4.1.1",
    }
    overridden = _deployment(
        template(
            helm,
            "--set",
            "image.repository=registry.local/gavel,image.tag=dev",
            "--set",
            "operator.tickSeconds=0.5",
            "--set",
            "operator.verbose=true",
        )
    )
    env = _env(overridden)
    (container,) = overridden["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.local/gavel:dev"
    assert container["command"][-1] == "--verbose"
    # The workloads follow the operator's own image unless workloadImages.gavel says otherwise.
    assert env["GAVEL_IMAGE"] == "registry.local/gavel:dev"
    assert env["GAVEL_OPERATOR_TICK_S"] == "0.5"


@pytest.mark.parametrize(
    "override",
    ["operator.tickSeconds=0", "operator.resyncSeconds=soon", "operatr.tickSeconds=2"],
)
def test_the_values_schema_refuses_nonsense(helm: Path, override: str) -> None:
    assert_schema_refuses(helm, override)
