"""The Gavel image, built by ``scripts/image build`` and run by podman on this machine.

The build is cached (a Debian base per recipe, podman's layers), so after the first run on a
machine the fixture costs seconds. The gateway runs as the operator renders it: uid 10001, a
read-only root filesystem, its outbox on a writable volume; host networking keeps its traffic
on loopback, where the shared stack's Redis listens.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from gavel import endpoints, keys, redis_client
from gavel.redis_acl import Role
from gavel_devstack.harness import tokens
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.gateway import running_gateway
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.podman import podman_env
from gavel_operator.rendering import OUTBOX_DIR, Images
from tests.conftest import ROOT

UID = 10001


@pytest.fixture(scope="module")
def image() -> str:
    proc = subprocess.run(
        [str(ROOT / "scripts" / "image"), "build"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    tag = proc.stdout.strip().splitlines()[-1]
    assert tag == Images().gavel
    return tag


def podman(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], capture_output=True, text=True, check=False, env=podman_env()
    )


def test_help_lists_every_workload(image: str) -> None:
    proc = podman("run", "--rm", "--network", "none", image, "--help")
    assert proc.returncode == 0, proc.stderr
    for command in ("gateway", "relay", "fanout", "audit-writer", "operator"):
        assert command in proc.stdout


def test_runs_as_the_unprivileged_user(image: str) -> None:
    probe = "import os; print(os.getuid(), os.getgid(), os.getcwd())"
    proc = podman("run", "--rm", "--network", "none", "--entrypoint", "python3", image, "-c", probe)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(UID), str(UID), "/var/lib/gavel"]


def _gateway_env(stack: Stack) -> list[str]:
    # What the operator gives a gateway container, and nothing of the host's stack folder.
    keep = (
        endpoints.REGIONS,
        endpoints.JWKS,
        endpoints.TOKEN_ISSUER,
        endpoints.redis_auth_var(Role.GATEWAY),
        "REDIS_URL_",
        "KAFKA_BOOTSTRAP_",
    )
    return [f"--env={k}={v}" for k, v in sorted(stack.env.items()) if k.startswith(keep)]


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    # The emptyDir a pod would get: empty, owned by nobody in particular but writable to 10001.
    folder = tmp_path / "outbox"
    folder.mkdir()
    os.chown(folder, UID, UID)
    return folder


async def test_gateway_in_a_read_only_container_accepts_a_bid(
    image: str, stack: Stack, outbox: Path
) -> None:
    name = f"gavel-test-gateway-{uuid.uuid4().hex[:8]}"
    container = (
        *("podman", "run", "--rm", f"--name={name}", "--network=host", "--read-only"),
        f"--volume={outbox}:{OUTBOX_DIR}",
        *_gateway_env(stack),
        image,
    )
    podman_conf = {"CONTAINERS_CONF": podman_env()["CONTAINERS_CONF"]}
    token = tokens.mint(stack.env, "alice")
    async with redis_client.connect(stack.redis_url("us")) as redis:
        rules = await open_test_drop(redis)
        try:
            with running_gateway(podman_conf, "us", Path(OUTBOX_DIR), gavel=container) as base:
                async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                    r = await http.post(
                        f"/v1/drops/{rules.drop_id}/bids",
                        json={"bid_id": "b1", "amount": 1_000},
                        headers={"Authorization": f"Bearer {token}"},
                    )
        finally:
            # Should podman not pass the SIGTERM on, no container may outlive the test.
            podman("rm", "--force", "--ignore", name)
        assert r.status_code == 201, r.text
        assert (r.json()["outcome"], r.json()["high_bid"]) == ("accepted", 1_000)
        # The bid is in the home region's Redis, not only in the gateway's answer.
        assert await redis.hget(keys.for_drop(rules.drop_id).state, "high_bid") == b"1000"
