"""What the chart's tests share: the pinned Helm, running it, and rendering the chart."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gavel_devstack import install
from gavel_devstack.harness.stack_env import Stack
from tests.conftest import ROOT

CHART = ROOT / "charts" / "gavel-operator"
NAMESPACE = "gavel-chart-test"


@pytest.fixture(scope="module")
def helm() -> Path:
    return install.ensure_helm()


def run(argv: list[str | Path]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.returncode == 0, f"{' '.join(proc.args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def template(helm: Path, *args: str) -> list[dict[str, Any]]:
    out = run([helm, "template", "gavel", CHART, "--namespace", NAMESPACE, *args])
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def assert_schema_refuses(helm: Path, override: str) -> None:
    """``helm template --set override`` fails on the values schema, not on something else."""
    proc = subprocess.run(
        [str(helm), "template", "gavel", str(CHART), "--set", override],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "don't meet the specifications of the schema" in proc.stderr


def server_dry_run(stack: Stack, objects: list[dict[str, Any]], folder: Path) -> list[str]:
    """Apply ``objects`` to the hub API server as a server-side dry run; its output lines.

    The chart's namespace is created for real first (idempotent): a dry run of namespaced
    objects needs it to exist."""
    kubectl: list[str | Path] = [
        install.k8s_dir() / "bin" / "kubectl",
        "--kubeconfig",
        stack.kubeconfig("hub"),
    ]
    namespace = folder / "namespace.yaml"
    namespace.write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    )
    run([*kubectl, "apply", "--server-side", "--field-manager", "gavel-tests", "-f", namespace])

    rendered = folder / "chart.yaml"
    rendered.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    out = run(
        [
            *kubectl,
            "apply",
            "--server-side",
            "--dry-run=server",
            # The CRDs may already be applied for real by another manager; a dry run may take over.
            "--force-conflicts",
            "--field-manager",
            "helm",
            "-f",
            rendered,
        ]
    )
    return out.stdout.strip().splitlines()
