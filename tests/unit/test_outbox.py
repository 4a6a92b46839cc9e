from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gavel import outbox
from gavel_devstack.harness.relay import edge_event


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_quiet_live_writers_segment_is_left_open(tmp_path: Path) -> None:
    writer = outbox.OutboxWriter(tmp_path, "gateway-us")
    writer.append(edge_event("d", 1))
    (segment,) = tmp_path.glob(f"*{outbox.OPEN_SUFFIX}")
    _age(segment, 60)
    assert outbox.reclaim(tmp_path, idle_s=5) == []
    assert segment.exists()
    closed = writer.close_segment()
    assert closed is not None
    assert [e.bid_id for e in outbox.read_segment(closed).events] == ["bid-1"]


def test_a_killed_writers_segment_is_closed_even_if_its_pid_names_a_live_process(
    tmp_path: Path,
) -> None:
    """A gateway container's pid is 1 in its own pid namespace, which in the shipper's is the
    shipper itself: the name's pid says nothing, the lock the dead writer lost does."""
    script = (
        "import os, signal, sys; from pathlib import Path; from gavel import outbox; "
        "from gavel_devstack.harness.relay import edge_event; "
        "w = outbox.OutboxWriter(Path(sys.argv[1]), 'gateway-us'); w.append(edge_event('d', 1)); "
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=False)
    assert proc.returncode == -signal.SIGKILL
    (left,) = tmp_path.glob(f"*{outbox.OPEN_SUFFIX}")
    as_in_a_pod = left.with_name(left.name.replace(f"-{_pid_of(left)}-", "-1-", 1))
    left.rename(as_in_a_pod)
    _age(as_in_a_pod, 60)
    assert os.getpid() != 1  # pid 1 (init, or a container's first process) is alive
    (closed,) = outbox.reclaim(tmp_path, idle_s=5)
    assert closed == as_in_a_pod.with_suffix(outbox.CLOSED_SUFFIX)
    assert len(outbox.read_segment(closed).events) == 1


def test_a_fresh_segment_waits_for_its_idle_time(tmp_path: Path) -> None:
    orphan = tmp_path / f"gateway-us-1-{int(time.time() * 1000)}-1{outbox.OPEN_SUFFIX}"
    orphan.write_bytes(edge_event("d", 1).to_json() + b"\n")
    assert outbox.reclaim(tmp_path, idle_s=5) == []
    _age(orphan, 6)
    assert outbox.reclaim(tmp_path, idle_s=5) == [orphan.with_suffix(outbox.CLOSED_SUFFIX)]


def _pid_of(segment: Path) -> str:
    return segment.stem.split("-")[-3]
