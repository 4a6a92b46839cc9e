"""The idle-cost arithmetic: /proc lines in, percent of one core per process tree out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gavel_devstack import idle_cost
from gavel_devstack.idle_cost import Member, ProcStat


def stat_line(
    pid: int, ppid: int, utime: int, stime: int, *, cutime: int = 0, cstime: int = 0
) -> str:
    # comm with a space and a parenthesis, as Java threads and some daemons have.
    fields = ["S", str(ppid)] + ["0"] * 9 + [str(utime), str(stime), str(cutime), str(cstime)]
    fields += ["20", "0", "4", "0", "777", "1000", "256"]  # ..., starttime, vsize, rss
    return f"{pid} (my (proc) x) " + " ".join(fields) + " 0 0 0\n"


def test_parse_stat_reads_times_start_and_rss_past_a_tricky_comm() -> None:
    p = idle_cost.parse_stat(stat_line(42, 7, 100, 50, cutime=30, cstime=20))
    assert p == ProcStat(pid=42, ppid=7, started=777, ticks=150, child_ticks=50, rss_pages=256)


def test_parse_stat_reads_this_process() -> None:
    p = idle_cost.parse_stat(Path(f"/proc/{os.getpid()}/stat").read_text())
    assert p.pid == os.getpid()
    assert p.ppid == os.getppid()
    assert p.ticks >= 0
    assert p.rss_pages > 0


def procs(*stats: ProcStat) -> dict[int, ProcStat]:
    return {p.pid: p for p in stats}


def ps(
    pid: int, ppid: int, ticks: int, *, child: int = 0, rss: int = 10, started: int = 5
) -> ProcStat:
    return ProcStat(pid, ppid, started, ticks, child, rss)


def test_tree_ticks_counts_descendants_and_reaped_children() -> None:
    snap = procs(ps(1, 0, 10, child=4), ps(2, 1, 3), ps(3, 2, 2, child=1), ps(9, 0, 100))
    assert idle_cost.tree_ticks(1, snap) == 10 + 4 + 3 + 2 + 1
    assert idle_cost.tree_ticks(9, snap) == 100


def test_a_child_reaped_inside_the_window_is_charged_once() -> None:
    before = procs(ps(1, 0, 10), ps(2, 1, 30))
    # Child 2 used 5 more ticks, exited, and its 35 moved into the parent's cutime.
    after = procs(ps(1, 0, 12, child=35))
    m = Member("redis", "us", 1, 5)
    (cost,) = idle_cost.member_costs([m], before, after, seconds=1.0, hz=100, page_size=4096)
    assert cost.core_pct == pytest.approx(7.0)  # 2 of the parent + 5 of the child


def test_member_costs_in_percent_of_one_core_with_rss() -> None:
    before = procs(ps(1, 0, 100), ps(2, 1, 0))
    after = procs(ps(1, 0, 250, rss=256), ps(2, 1, 50, rss=256))
    m = Member("kafka", "eu", 1, 5)
    (cost,) = idle_cost.member_costs([m], before, after, seconds=10.0, hz=100, page_size=4096)
    assert cost.core_pct == pytest.approx(20.0)  # 200 ticks = 2 s over 10 s
    assert cost.rss_mib == pytest.approx(2.0)
    assert cost.alive


@pytest.mark.parametrize("after_started", [None, 6])
def test_a_member_gone_or_replaced_is_marked_and_costs_nothing(after_started: int | None) -> None:
    before = procs(ps(1, 0, 100))
    after = {} if after_started is None else procs(ps(1, 0, 900, started=after_started))
    (cost,) = idle_cost.member_costs(
        [Member("relay", "us", 1, 5)], before, after, seconds=1.0, hz=100, page_size=4096
    )
    assert not cost.alive
    assert cost.core_pct == 0.0


def test_grouping_by_component_family_and_region() -> None:
    def cost(kind: str, region: str, pct: float, rss: float) -> idle_cost.Cost:
        return idle_cost.Cost(Member(kind, region, 1, 1), pct, rss, alive=True)

    costs = [
        cost("sentinel-1", "us", 1.0, 10),
        cost("sentinel-2", "us", 2.0, 10),
        cost("sentinel-1", "eu", 4.0, 10),
        cost("redis-replica-2", "eu", 0.5, 5),
        cost("kafka", "eu", 8.0, 500),
    ]
    assert idle_cost.by_component(costs) == {
        "sentinel": {"us": 3.0, "eu": 4.0},
        "redis-replica": {"eu": 0.5},
        "kafka": {"eu": 8.0},
    }
    assert idle_cost.by_region(costs) == {"us": (3.0, 20.0), "eu": (12.5, 515.0)}


def test_busy_ticks_leave_idle_and_iowait_out() -> None:
    busy, total = idle_cost.busy_ticks("cpu  100 5 50 800 20 1 2 3 0 0")
    assert (busy, total) == (161, 981)


def test_workload_member_needs_our_clone_and_a_workload_command() -> None:
    cmd = ["/x/.venv/bin/python", "-m", "gavel", "fanout", "--region", "eu", "--port", "1"]
    assert idle_cost.workload_member(cmd, {"GAVEL_ROOT": "/x"}, "/x") == ("fanout", "eu")
    assert idle_cost.workload_member(cmd, {"GAVEL_ROOT": "/other"}, "/x") is None
    assert idle_cost.workload_member(cmd, {}, "/x") is None
    herd = ["/x/.venv/bin/python", "-m", "gavel", "herd", "--region", "eu"]
    assert idle_cost.workload_member(herd, {"GAVEL_ROOT": "/x"}, "/x") is None
    bare = ["python", "-m", "gavel", "relay"]
    assert idle_cost.workload_member(bare, {"GAVEL_ROOT": "/x"}, "/x") == ("relay", "?")
