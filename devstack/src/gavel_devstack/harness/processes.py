"""Starting servers for tests and benchmarks: free ports, the stack's endpoints, readiness."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from gavel_devstack.harness.stack_env import read_stack_env


def free_port() -> int:
    """A port nothing listens on right now (the kernel picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stack_env() -> dict[str, str]:
    """``scripts/stack env`` as a dict; raises RuntimeError when no stack runs."""
    env = read_stack_env()
    if env is None:
        raise RuntimeError("no local stack runs: start one with scripts/stack up")
    return env


def wait_ready(
    url: str,
    proc: subprocess.Popen[bytes] | None = None,
    *,
    timeout_s: float = 60,
    what: str = "server",
) -> None:
    """Poll ``url`` until it answers 200; fail early with its output if ``proc`` exits."""
    deadline = time.monotonic() + timeout_s
    while True:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{out}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready within {timeout_s:.0f} s ({url})")
        time.sleep(0.1)


def start_logged(
    args: Sequence[str],
    log_path: Path,
    extra_env: dict[str, str] | None = None,
    *,
    new_session: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``args`` with stdout and stderr appended to ``log_path``; with ``new_session``,
    in a session of its own (see :class:`gavel_devstack.harness.workloads.Supervisor`)."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            list(args),
            env={**os.environ, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )


def stop_process(
    proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout_s: float = 30
) -> int:
    """Send ``sig`` (if it still runs), wait up to ``timeout_s``, then kill; the exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
