"""Rendered regional objects are valid for a real API server (server-side apply, dry run)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from gavel.devstack import install
from gavel_operator.rendering import RegionView, render_region
from tests.conftest import Stack
from tests.unit.gavel_operator.test_rendering import example_regions


def test_a_regions_objects_pass_server_side_apply(stack: Stack, tmp_path: Path) -> None:
    regions: list[RegionView] = example_regions()
    objects = render_region(regions[0], regions)
    manifest = tmp_path / "region.yaml"
    manifest.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    kubectl = install.k8s_dir() / "bin" / "kubectl"
    out = subprocess.run(
        [
            str(kubectl),
            "--kubeconfig",
            stack.kubeconfig(stack.regions[0]),
            "apply",
            "--server-side",
            "--field-manager",
            "gavel-operator",
            "--dry-run=server",
            "-f",
            str(manifest),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.strip().splitlines()) == len(objects)
