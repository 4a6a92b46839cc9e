"""Fixtures of the merch console's tests: the hub with the CRDs, and ``gavel`` run as a person
runs it (a subprocess, the stack's environment, the hub's kubeconfig in KUBECONFIG_HUB)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from gavel import endpoints
from gavel_devstack.harness.stack_env import Stack
from tests.support.hub import install_crds

Gavel = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def hub_api(stack: Stack) -> client.CustomObjectsApi:
    api_client = config.new_client_from_config(config_file=stack.kubeconfig("hub"))
    install_crds(api_client)
    return client.CustomObjectsApi(api_client)


def run_gavel(
    env: dict[str, str], *args: str, timeout_s: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gavel", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **env},
        check=False,
        timeout=timeout_s,
    )


@pytest.fixture
def gavel(stack: Stack, hub_api: client.CustomObjectsApi) -> Gavel:
    """``gavel ARGS`` with the stack's endpoints and the hub's kubeconfig; ``env=`` adds more."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        base = {**stack.env, endpoints.HUB_KUBECONFIG: stack.kubeconfig("hub")}
        return run_gavel({**base, **(env or {})}, *args)

    return run


def stamp(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def drop_manifest(name: str, *, starts_ms: int, ends_ms: int, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gavel.dev/v1alpha1",
        "kind": "Drop",
        "metadata": {"name": name},
        "spec": {
            "product": {"title": "Rolex Cosmograph Daytona 6239 (1963)"},
            "homeRegion": "us",
            "regions": ["us", "eu"],
            "startsAt": stamp(starts_ms),
            "endsAt": stamp(ends_ms),
            "auction": {
                "currency": "EUR",
                "startPrice": 100_000,
                "reservePrice": 2_500_000,
                "increments": [{"from": 0, "step": 50_000}],
            },
            **spec,
        },
    }


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / f"{doc['metadata']['name']}-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout
