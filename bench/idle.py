"""Idle cost of the local stack: CPU and memory per component and per region, from /proc.

Samples the CPU time of every process of the stack (``state.json`` of the run folder) and of
every Gavel workload started from this clone (``python -m gavel <kind> --region R``, e.g. by
``bench/global_latency`` or the herd) over a window in which nothing is asked of them, and
prints percent of one core per component and region, the total, and resident memory. The
same window's whole-machine busy time is the baseline: the stack's share of it, and what the
rest of the machine (other stacks, other sessions) used meanwhile.

Run with a stack up and no load::

    scripts/stack up
    .venv/bin/python -m bench.idle --seconds 60
    .venv/bin/python -m bench.idle --seconds 60 --save /tmp/idle-before.json
    # ... change a setting, scripts/stack up again (it restarts what changed) ...
    .venv/bin/python -m bench.idle --seconds 60 --against /tmp/idle-before.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from gavel_devstack import idle_cost, stack

console = Console(width=150)


def _table(
    title: str,
    cells: dict[str, dict[str, float]],
    regions: list[str],
    before: dict[str, Any] | None,
) -> Table:
    t = Table(title=title)
    t.add_column("component")
    for r in regions:
        t.add_column(r, justify="right")
    t.add_column("total", justify="right", style="bold")
    if before is not None:
        t.add_column("before", justify="right")
        t.add_column("change", justify="right")
    for comp in sorted(cells, key=lambda c: -sum(cells[c].values())):
        row = [
            comp,
            *(f"{cells[comp].get(r, 0.0):.1f}" if r in cells[comp] else "" for r in regions),
        ]
        total = sum(cells[comp].values())
        row.append(f"{total:.1f}")
        if before is not None:
            was = sum(before.get(comp, {}).values())
            row += [f"{was:.1f}", f"{total - was:+.1f}"]
        t.add_row(*row)
    return t


def sample(run_dir: Path, root: str, seconds: float) -> dict[str, Any]:
    procs0 = idle_cost.read_procs()
    members = idle_cost.stack_members(run_dir) + idle_cost.workload_members(root, procs0)
    busy0, total0 = idle_cost.machine_ticks()
    t0 = time.monotonic()
    time.sleep(seconds)
    procs1 = idle_cost.read_procs()
    busy1, total1 = idle_cost.machine_ticks()
    elapsed = time.monotonic() - t0
    costs = idle_cost.member_costs(
        members,
        procs0,
        procs1,
        seconds=elapsed,
        hz=os.sysconf("SC_CLK_TCK"),
        page_size=os.sysconf("SC_PAGE_SIZE"),
    )
    cores = os.cpu_count() or 1
    return {
        "seconds": elapsed,
        "cores": cores,
        "machine_busy_pct": 100.0 * cores * (busy1 - busy0) / max(1, total1 - total0),
        "load_avg": os.getloadavg(),
        "components": idle_cost.by_component(costs),
        "regions": {
            r: {"core_pct": c, "rss_mib": m} for r, (c, m) in idle_cost.by_region(costs).items()
        },
        "gone": [f"{c.member.kind}/{c.member.region}" for c in costs if not c.alive],
        "processes": [
            {
                "kind": c.member.kind,
                "region": c.member.region,
                "pid": c.member.pid,
                "core_pct": round(c.core_pct, 2),
                "rss_mib": round(c.rss_mib, 1),
            }
            for c in costs
        ],
    }


def show(doc: dict[str, Any], before: dict[str, Any] | None) -> None:
    regions = sorted(doc["regions"], key=lambda r: (r in ("hub", "shared"), r))
    console.print(
        _table(
            f"% of one core over {doc['seconds']:.0f} s, idle (no load placed by this tool)",
            doc["components"],
            regions,
            before["components"] if before else None,
        )
    )
    t = Table(title="per region")
    for col in ("region", "% of one core", "RSS MiB"):
        t.add_column(col, justify="right" if col != "region" else "left")
    for r in regions:
        t.add_row(r, f"{doc['regions'][r]['core_pct']:.1f}", f"{doc['regions'][r]['rss_mib']:.0f}")
    stack_pct = sum(v["core_pct"] for v in doc["regions"].values())
    rss = sum(v["rss_mib"] for v in doc["regions"].values())
    t.add_row("[bold]stack total", f"[bold]{stack_pct:.1f}", f"[bold]{rss:.0f}")
    console.print(t)
    busy = doc["machine_busy_pct"]
    console.print(
        f"baseline, same window: the whole machine ({doc['cores']} cores) was busy "
        f"{busy:.0f} % of one core; this stack {stack_pct:.0f} %, everything else "
        f"{max(0.0, busy - stack_pct):.0f} % (load average {doc['load_avg'][0]:.1f})"
    )
    if before:
        was = sum(v["core_pct"] for v in before["regions"].values())
        console.print(f"before: stack total {was:.1f} % of one core; now {stack_pct:.1f} %")
    if doc["gone"]:
        console.print(
            f"[yellow]exited or restarted during the window (not counted):[/] {doc['gone']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the window")
    parser.add_argument("--dir", type=Path, default=None, help="run folder (default: ./.stack)")
    parser.add_argument("--save", type=Path, help="write the result as JSON")
    parser.add_argument("--against", type=Path, help="a saved result to compare with")
    args = parser.parse_args()
    run_dir = (args.dir or stack.default_run_dir()).resolve()
    if not idle_cost.stack_members(run_dir):
        raise SystemExit(f"no stack runs in {run_dir}; start one with scripts/stack up")
    root = os.environ.get("GAVEL_ROOT", str(Path(__file__).resolve().parents[1]))
    before = json.loads(args.against.read_text()) if args.against else None
    doc = sample(run_dir, root, args.seconds)
    show(doc, before)
    if args.save:
        args.save.write_text(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
