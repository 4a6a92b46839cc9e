"""Long steps (builds, downloads, image builds) that say what they are doing while they run.

Called by :mod:`gavel_devstack.install` (the stack's Kubernetes, kubelet, Helm and promtool
builds and the Kafka/Cassandra downloads) and :mod:`gavel_devstack.image_build`. A first run
spends many minutes in these steps; silence for that long reads as a hang. So every step writes
its whole output to a log file and reports on stderr:

- on a terminal, one live status line: what, for how long, and the step's latest output line;
- elsewhere (CI logs, pipes), a line when it starts, one every :data:`PLAIN_EVERY_S` while it
  runs (with the latest output line), and one when it ends with its duration.

A failed step raises :class:`StepError` naming the log and carrying its tail. The wording is
decided by the pure :func:`running_line` and :func:`finished_line`.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from rich.console import Console
from rich.markup import escape

PLAIN_EVERY_S = 30.0
"""How often a running step says so when stderr is not a terminal."""

TERMINAL_REFRESH_S = 0.5
LAST_LINE_CHARS = 100
TAIL_LINES = 30

err = Console(stderr=True, highlight=False, soft_wrap=True)


class StepError(RuntimeError):
    """A step exited non-zero; the message names its log and carries the log's tail."""


def clock(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``: how long, in the unit a person reads fastest."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    return f"{whole // 60} min {whole % 60:02d} s"


def running_line(what: str, elapsed: float, last: str) -> str:
    """The line that tells a step is still running."""
    return f"{what}: {clock(elapsed)}" + (f", {last}" if last else "")


def finished_line(what: str, elapsed: float) -> str:
    return f"{what}: done in {clock(elapsed)}"


def last_line(log: Path) -> str:
    """The latest non-empty line of ``log`` (only its last 4 KiB are read), shortened."""
    try:
        with log.open("rb") as f:
            f.seek(max(0, log.stat().st_size - 4096))
            lines = f.read().decode(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return ""
    return lines[-1].strip()[:LAST_LINE_CHARS] if lines else ""


def tail(log: Path, lines: int = TAIL_LINES) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def run_step(
    argv: list[str],
    what: str,
    log: Path,
    env: Mapping[str, str] | None = None,
    console: Console = err,
) -> float:
    """Run ``argv`` with its output in ``log`` and its progress on ``console``.

    Returns the seconds it took; raises :class:`StepError` when it exits non-zero."""
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=dict(env) if env else None
        )
        if console.is_terminal:
            with console.status(escape(what)) as status:
                while proc.poll() is None:
                    line = running_line(what, time.monotonic() - start, last_line(log))
                    status.update(escape(line))
                    time.sleep(TERMINAL_REFRESH_S)
        else:
            console.print(f"{what} ...", markup=False, highlight=False)
            while True:
                try:
                    proc.wait(timeout=PLAIN_EVERY_S)
                    break
                except subprocess.TimeoutExpired:
                    line = running_line(what, time.monotonic() - start, last_line(log))
                    console.print(line, markup=False, highlight=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise StepError(f"{what} failed (exit {proc.returncode}; log {log}):\n{tail(log)}")
    console.print(finished_line(what, elapsed), markup=False, highlight=False)
    return elapsed
