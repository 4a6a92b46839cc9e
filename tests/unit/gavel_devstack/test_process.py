from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from gavel_devstack import process


def test_start_time_tells_this_process_from_another_with_its_pid() -> None:
    me = process.start_time(os.getpid())
    assert me is not None
    assert process.is_alive(os.getpid(), me)
    assert not process.is_alive(os.getpid(), me + 1)  # same pid, other process: not ours


def _state(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


def test_a_process_that_exited_is_reported_dead_before_and_after_it_is_reaped() -> None:
    # Alive until we close its stdin, so its start time is read while it runs.
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    started = process.start_time(child.pid)
    assert started is not None
    assert process.is_alive(child.pid, started)
    assert child.stdin is not None
    child.stdin.close()
    # Exited but not yet waited for: a zombie, which still has a /proc entry.
    deadline = time.monotonic() + 10
    while _state(child.pid) != "Z":
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)
    assert process.start_time(child.pid) is None
    assert not process.is_alive(child.pid, started)
    assert child.wait(timeout=10) == 0
    assert not process.is_alive(child.pid, started)


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


def test_cpu_seconds_of_this_process_grows_and_of_a_gone_one_is_none() -> None:
    import os

    from gavel_devstack import process

    before = process.cpu_seconds(os.getpid())
    assert before is not None
    sum(i * i for i in range(300_000))
    after = process.cpu_seconds(os.getpid())
    assert after is not None
    assert after >= before
    assert process.cpu_seconds(2**22 + 1) is None
