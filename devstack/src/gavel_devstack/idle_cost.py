"""What a running stack costs while nothing happens: CPU time and memory per process, from /proc.

Called by ``bench/idle.py`` (``python -m bench.idle``). Two halves:

* pure: a snapshot of ``/proc`` (:class:`ProcStat` per pid) in, the CPU used between two
  snapshots by each member's whole process tree out (:func:`member_costs`), grouped by
  component and by region (:func:`by_component`, :func:`by_region`);
* thin readers: :func:`read_procs`, :func:`machine_ticks`, and the members to watch, which are
  the stack's servers from ``state.json`` (:func:`stack_members`) and the workloads a benchmark
  or the herd started from the same clone (:func:`workload_members`: ``python -m gavel <kind>
  --region R`` with our ``GAVEL_ROOT``).

A tree's CPU time counts reaped children (``cutime``/``cstime``) so a Redis rewrite fork or a
container's shim that came and went inside the window is still charged to its parent.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from gavel_devstack import stack


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The few fields of ``/proc/<pid>/stat`` this needs (times in clock ticks)."""

    pid: int
    ppid: int
    started: int
    ticks: int
    """utime + stime of the process itself (all its threads)."""
    child_ticks: int
    """cutime + cstime: what its reaped children (and theirs) used."""
    rss_pages: int


@dataclass(frozen=True, slots=True)
class Member:
    """A process to account for: its component kind, region and (pid, start time)."""

    kind: str
    region: str
    pid: int
    started: int


@dataclass(frozen=True, slots=True)
class Cost:
    """One member's cost over a window: percent of one core, resident memory in MiB."""

    member: Member
    core_pct: float
    rss_mib: float
    alive: bool


def parse_stat(text: str) -> ProcStat:
    """Parse one ``/proc/<pid>/stat`` line (comm may hold spaces and parentheses)."""
    pid = int(text[: text.index(" ")])
    f = text[text.rindex(")") + 2 :].split()
    # f[0] is field 3 (state); field n is f[n - 3].
    return ProcStat(
        pid=pid,
        ppid=int(f[1]),
        started=int(f[19]),
        ticks=int(f[11]) + int(f[12]),
        child_ticks=int(f[13]) + int(f[14]),
        rss_pages=int(f[21]),
    )


def _children(procs: Mapping[int, ProcStat]) -> dict[int, list[int]]:
    kids: dict[int, list[int]] = defaultdict(list)
    for p in procs.values():
        kids[p.ppid].append(p.pid)
    return kids


def tree(root: int, procs: Mapping[int, ProcStat]) -> list[ProcStat]:
    """``root`` and every live descendant of it in ``procs``."""
    kids = _children(procs)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in procs:
            out.append(procs[pid])
            todo += kids.get(pid, [])
    return out


def tree_ticks(root: int, procs: Mapping[int, ProcStat]) -> int:
    """CPU ticks of a process tree: every live member's own and reaped-children time."""
    return sum(p.ticks + p.child_ticks for p in tree(root, procs))


def member_costs(
    members: Iterable[Member],
    before: Mapping[int, ProcStat],
    after: Mapping[int, ProcStat],
    *,
    seconds: float,
    hz: int,
    page_size: int,
) -> list[Cost]:
    """Each member's CPU between the two snapshots (percent of one core) and RSS at the end.

    A member that is gone, or whose pid now belongs to another process, costs 0 and is marked
    not alive: its time can no longer be read, and a restart is not the idle cost we measure.
    """
    costs = []
    for m in members:
        same = all(
            s.get(m.pid) is not None and s[m.pid].started == m.started for s in (before, after)
        )
        if not same:
            costs.append(Cost(m, 0.0, 0.0, alive=False))
            continue
        used = tree_ticks(m.pid, after) - tree_ticks(m.pid, before)
        rss = sum(p.rss_pages for p in tree(m.pid, after)) * page_size / 2**20
        costs.append(Cost(m, 100.0 * used / hz / seconds, rss, alive=True))
    return costs


_NUMBERED = re.compile(r"-\d+$")


def family(kind: str) -> str:
    """A component kind without its instance number: ``sentinel-2`` -> ``sentinel``."""
    return _NUMBERED.sub("", kind)


def by_component(costs: Iterable[Cost]) -> dict[str, dict[str, float]]:
    """Percent of one core per component family, then per region (the tables' cells)."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for c in costs:
        out[family(c.member.kind)][c.member.region] += c.core_pct
    return {k: dict(v) for k, v in out.items()}


def by_region(costs: Iterable[Cost]) -> dict[str, tuple[float, float]]:
    """(percent of one core, RSS MiB) per region."""
    out: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for c in costs:
        out[c.member.region][0] += c.core_pct
        out[c.member.region][1] += c.rss_mib
    return {r: (v[0], v[1]) for r, v in out.items()}


def busy_ticks(cpu_line: str) -> tuple[int, int]:
    """(busy, total) ticks of every core from ``/proc/stat``'s first ``cpu`` line."""
    v = [int(x) for x in cpu_line.split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    # guest time is already counted in user; leave the guest columns out of the total.
    total = sum(v[:8])
    return total - idle, total


# --- thin readers -------------------------------------------------------------------------


def read_procs() -> dict[int, ProcStat]:
    """Every process of this machine that can be read right now."""
    procs = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            procs[int(entry.name)] = parse_stat(Path(entry.path, "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue  # gone between listing and reading
    return procs


def machine_ticks() -> tuple[int, int]:
    return busy_ticks(Path("/proc/stat").read_text().splitlines()[0])


def stack_members(run_dir: Path) -> list[Member]:
    """The servers ``state.json`` of ``run_dir`` lists (empty when no stack runs there)."""
    state = stack.load_state(run_dir)
    if state is None:
        return []
    return [Member(r.kind, r.region, r.pid, r.started) for r in state.running.values()]


WORKLOAD_KINDS = ("gateway", "relay", "fanout", "audit-writer")


def workload_member(
    cmdline: list[str], environ: Mapping[str, str], root: str
) -> tuple[str, str] | None:
    """(kind, region) when a command line is ``python -m gavel <kind> ... --region R`` started
    from the clone ``root``; None for anything else."""
    if environ.get("GAVEL_ROOT") != root:
        return None
    for i in range(len(cmdline) - 2):
        if cmdline[i : i + 2] == ["-m", "gavel"] and cmdline[i + 2] in WORKLOAD_KINDS:
            region = "?"
            if "--region" in cmdline:
                at = cmdline.index("--region") + 1
                region = cmdline[at] if at < len(cmdline) else "?"
            return cmdline[i + 2], region
    return None


def _split0(raw: bytes) -> list[str]:
    return [x.decode(errors="replace") for x in raw.split(b"\0") if x]


def workload_members(root: str, procs: Mapping[int, ProcStat]) -> list[Member]:
    """Gavel workloads started from the clone ``root``, outermost process of each only."""
    found: dict[int, Member] = {}
    for pid, p in procs.items():
        try:
            cmd = _split0(Path(f"/proc/{pid}/cmdline").read_bytes())
            env = dict(
                kv.split("=", 1)
                for kv in _split0(Path(f"/proc/{pid}/environ").read_bytes())
                if "=" in kv
            )
        except OSError:
            continue
        hit = workload_member(cmd, env, root)
        if hit is not None:
            found[pid] = Member(hit[0], hit[1], pid, p.started)
    # A gateway with --workers has children that match too; the parent's tree holds them.
    return [m for m in found.values() if procs[m.pid].ppid not in found]
