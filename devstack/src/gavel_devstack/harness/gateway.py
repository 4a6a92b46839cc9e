"""Run ``gavel gateway`` as a real process on a free port, for tests and benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from gavel_devstack.harness.processes import free_port, wait_ready


@contextmanager
def running_gateway(
    env: dict[str, str],
    region: str,
    outbox: Path,
    extra_args: tuple[str, ...] = (),
    *,
    gavel: Sequence[str] = (sys.executable, "-m", "gavel"),
) -> Iterator[str]:
    """Start a gateway, wait for /readyz, yield its base URL, stop it.

    ``gavel`` is how the CLI is started: this venv's by default, or e.g. ``podman run ... IMAGE``
    (which passes the SIGTERM on to the container); ``outbox`` is a path as that command sees it.
    """
    port = free_port()
    proc = subprocess.Popen(
        [
            *gavel,
            "gateway",
            "--region",
            region,
            "--port",
            str(port),
            "--outbox-dir",
            str(outbox),
            *extra_args,
        ],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # 2-3 s on a quiet machine; 18-37 s was seen with the two cores at load average 30.
        wait_ready(f"{base}/readyz", proc, timeout_s=90, what="gateway")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
