"""``scripts/stack`` as a user runs it: a second stack beside the session's, failures, clean-up."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gavel import redis_url
from gavel_devstack import layout, process
from gavel_devstack.harness.stack_env import Stack
from tests.conftest import STACK


def _stack(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(STACK), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def _env(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def test_env_describes_the_running_stack(stack: Stack) -> None:
    out = _stack("env")
    assert out.returncode == 0, out.stderr
    env = _env(out.stdout)
    for region in env["GAVEL_REGIONS"].split(","):
        r = region.upper()
        address = redis_url.parse(env[f"REDIS_URL_{r}"])
        assert isinstance(address, redis_url.SentinelService)
        assert address.service == f"gavel-{region}"
        assert len(address.sentinels) == layout.SENTINELS
        assert env[f"KAFKA_BOOTSTRAP_{r}"].startswith("127.0.0.1:")
        assert Path(env[f"KUBECONFIG_{r}"]).is_file()
    assert Path(env["KUBECONFIG_HUB"]).is_file()
    assert env["CASSANDRA_CONTACT"].startswith("127.0.0.1:")
    assert env["CASSANDRA_USER_READER"] == "gavel_reader"


def test_eval_of_env_exports_to_child_processes(stack: Stack) -> None:
    script = f'eval "$({STACK} env)"; python3 -c "import os; print(os.environ[\'GAVEL_REGIONS\'])"'
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ",".join(stack.regions)


def test_a_second_stack_gets_other_ports_and_down_leaves_nothing(
    stack: Stack, tmp_path: Path
) -> None:
    other = tmp_path / "second"
    up = _stack("up", "--regions", "1", "--only", "redis", "--dir", str(other))
    assert up.returncode == 0, up.stderr
    try:
        env = _env(_stack("env", "--dir", str(other)).stdout)
        assert env["REDIS_URL_US"] != stack.redis_url("us")
        status = _stack("status", "--dir", str(other))
        assert status.returncode == 0
        # One primary, its replicas and the Sentinels, each shown with its role.
        assert status.stdout.count("(primary)") == 1
        assert status.stdout.count("(replica)") == layout.REDIS_REPLICAS
        assert status.stdout.count("sentinel-") == layout.SENTINELS
        assert process.members(other)
    finally:
        down = _stack("down", "--purge", "--dir", str(other))
    assert down.returncode == 0, down.stderr
    assert process.members(other) == []
    assert _stack("status", "--dir", str(other)).returncode == 1


def test_a_failed_up_shows_the_log_tail_and_down_still_cleans_up(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    # No broker is ready in a few milliseconds: up must fail, name the culprit, show its log.
    up = _stack(
        "up",
        "--regions",
        "1",
        "--only",
        "kafka",
        "--dir",
        str(broken),
        env={"GAVEL_STACK_TIMEOUT_SCALE": "0.0001"},
    )
    assert up.returncode == 1
    assert "kafka/us" in up.stderr
    assert "not ready after" in up.stderr
    assert "===" in up.stderr  # the log tail starts with the spawn banner
    assert process.members(broken), "the broker should still be running until down"
    down = _stack("down", "--purge", "--dir", str(broken))
    assert down.returncode == 0, down.stderr
    assert process.members(broken) == []
