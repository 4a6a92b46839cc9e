from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gavel_devstack import process


def test_start_time_identifies_a_live_process_and_not_a_dead_one(tmp_path: Path) -> None:
    me = process.start_time(os.getpid())
    assert me is not None
    assert process.is_alive(os.getpid(), me)
    assert not process.is_alive(os.getpid(), me + 1)  # same pid, other process: not ours
    done = subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert done.returncode == 0


def test_spawn_and_stop_take_down_the_whole_process_group(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "sleeper.log"
    # The child starts a grandchild; stopping the group must take both.
    script = (
        "import subprocess, time; subprocess.Popen(['sleep', '300']); "
        "print('up', flush=True); time.sleep(300)"
    )
    pid, started = process.spawn([sys.executable, "-c", script], log, cwd=tmp_path)
    assert process.is_alive(pid, started)
    process.stop(pid, started, grace_s=5)
    assert not process.is_alive(pid, started)
    leftovers = subprocess.run(["pgrep", "-g", str(pid)], capture_output=True, check=False)
    assert leftovers.stdout == b""


def test_log_tail_returns_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert process.log_tail(log, 3).splitlines() == ["line 97", "line 98", "line 99"]
    assert "no log" in process.log_tail(tmp_path / "missing.log")
