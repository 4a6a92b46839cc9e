"""Rendered regional objects are accepted by a real API server (server-side apply)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from gavel_devstack import install
from gavel_devstack.harness.stack_env import Stack
from gavel_operator.rendering import RegionView, render_region
from tests.unit.gavel_operator.test_rendering import example_regions


def test_a_regions_objects_pass_server_side_apply(stack: Stack, tmp_path: Path) -> None:
    regions: list[RegionView] = example_regions()
    objects = render_region(regions[0], regions)
    kubectl = [
        str(install.k8s_dir() / "bin" / "kubectl"),
        "--kubeconfig",
        stack.kubeconfig(stack.regions[0]),
        "apply",
        "--server-side",
        "--field-manager",
        "gavel-operator",
        "-f",
    ]
    # The namespace first, as the operator applies it: kubectl resolves every object's
    # namespace before it sends any of them.
    namespace, rest = objects[0], objects[1:]
    assert namespace["kind"] == "Namespace"
    for name, docs in (("namespace.yaml", [namespace]), ("region.yaml", rest)):
        (tmp_path / name).write_text(yaml.safe_dump_all(docs, sort_keys=False))
    first = subprocess.run(
        [*kubectl, str(tmp_path / "namespace.yaml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert first.returncode == 0, first.stderr
    out = subprocess.run(
        [*kubectl, str(tmp_path / "region.yaml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.strip().splitlines()) == len(rest)
    # Applying again with the same field manager is a no-op, as the operator's resyncs will be:
    # the API server stores nothing new (no object gets a new resourceVersion).
    applied = versions(kubectl[:3], tmp_path / "region.yaml")
    assert len(applied) == len(rest)
    again = subprocess.run(out.args, capture_output=True, text=True, check=False, timeout=60)
    assert again.returncode == 0, again.stderr
    assert versions(kubectl[:3], tmp_path / "region.yaml") == applied


def versions(kubectl: list[str], manifest: Path) -> dict[str, str]:
    """``kind/name`` to resourceVersion of every object in ``manifest``, as stored."""
    got = subprocess.run(
        [*kubectl, "get", "-f", str(manifest), "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return {
        f"{o['kind']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"]
        for o in json.loads(got.stdout)["items"]
    }
