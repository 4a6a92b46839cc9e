"""Processes of the local stack: spawn detached, identify safely, stop by process group.

Every server runs in its own session (so its process group is its pid) with stdout and stderr
in one log file. A pid is recorded together with the process's start time from ``/proc``: a
recycled pid belonging to somebody else is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path


def start_time(pid: int) -> int | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 (comm) may hold spaces and parentheses; fields after the last ')' are fixed.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie is as good as gone
        return None
    return int(fields[19])


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time ``pid`` used so far, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def is_alive(pid: int, started: int) -> bool:
    """Whether the process we started as ``pid`` at ``started`` is still running."""
    return start_time(pid) == started


MEMBER_VAR = "GAVEL_DEVSTACK_MEMBER"
"""Set in the environment of every server we spawn to its stack's run folder, so a sweep can
find exactly our processes (and their children) and never a shell that merely sits there."""


def spawn(
    argv: Sequence[str], log: Path, cwd: Path, env: Mapping[str, str] | None = None
) -> tuple[int, int]:
    """Start ``argv`` detached, appending its output to ``log``; returns (pid, start time)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **(env or {}), MEMBER_VAR: str(cwd)}
    with log.open("ab") as out:
        out.write(f"\n=== {time.strftime('%F %T')} {' '.join(argv)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=full_env,
            start_new_session=True,
        )
    started = None
    while started is None:
        started = start_time(proc.pid)
        if started is None and proc.poll() is not None:
            return proc.pid, -1
    return proc.pid, started


def stop(pid: int, started: int, grace_s: float = 20.0) -> None:
    """SIGTERM the process group of ``pid``, then SIGKILL it after ``grace_s``."""
    if not is_alive(pid, started):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_alive(pid, started):
            break
        time.sleep(0.1)
    # The group may hold children even when its leader exited.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    _reap(pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


SERVER_EXECUTABLES = ("redis-server", "java", "etcd", "kube-apiserver")
"""Programs the stack runs; see :func:`members`."""


@cache
def _server_executable_names() -> frozenset[str]:
    # /proc/<pid>/exe is the resolved binary: Debian links redis-server to redis-check-rdb.
    names = set(SERVER_EXECUTABLES)
    for name in SERVER_EXECUTABLES:
        found = shutil.which(name)
        if found:
            names.add(Path(found).resolve().name)
    return frozenset(names)


def members(run_dir: Path) -> list[int]:
    """Pids of live processes spawned for the stack in ``run_dir``.

    A process is ours if its environment carries :data:`MEMBER_VAR` for this folder, or, for
    servers that overwrite their environment with a process title (Redis does), if it is one of
    :data:`SERVER_EXECUTABLES` working inside the folder. A shell or ``tail`` sitting in the
    run folder matches neither.
    """
    root = run_dir.resolve()
    marker = f"{MEMBER_VAR}={root}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
                continue
            exe = Path(os.readlink(entry / "exe")).name
            cwd = Path(os.readlink(entry / "cwd"))
            if exe in _server_executable_names() and cwd.is_relative_to(root):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def rss_mib(pid: int) -> int | None:
    """Resident memory of ``pid`` in MiB (from /proc), or None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None


def log_tail(log: Path, lines: int = 25) -> str:
    """The last ``lines`` lines of a log file, or a note that there is none."""
    try:
        with log.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode(errors="replace")
    except OSError:
        return f"(no log at {log})"
    return "\n".join(text.splitlines()[-lines:])
