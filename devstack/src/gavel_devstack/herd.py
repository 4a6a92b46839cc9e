"""``scripts/herd``: a herd on the local stack, with Gavel's workloads started for it.

Needs a running stack (``scripts/stack up``). Starts every region's gateway, relay, fan-out and
audit writer as supervised processes (:mod:`gavel_devstack.harness.workloads`), points
``gavel herd``'s runner (:func:`gavel.herd.run.run`) at them while a fault plan, if any, kills
and freezes them (:mod:`gavel_devstack.harness.chaos`), prints the verdict and every fault with
its time, and stops the workloads. Exits 1 when the checker found a violation.
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gavel import cassandra_auth, endpoints
from gavel.cli.options import Bidders, BidRate, ClientProcesses, Duration, Observers, Profile
from gavel.herd import chaos, report, shape, summary
from gavel.herd.run import Herd, Result, Target, run
from gavel.herd.series import Mark, MarkKind
from gavel_devstack.harness.chaos import ChaosRunner, stack_servers
from gavel_devstack.harness.processes import stack_env
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.workloads import Event, Supervisor, running_workloads

console = Console()
SVG_WIDTH = 100


def target_of(stack: Stack, sup: Supervisor, regions: list[str]) -> Target:
    """The herd's view of the workloads ``sup`` runs on ``stack``."""
    return Target(
        gateways={r: sup.url("gateway", r) for r in regions},
        fanouts={r: sup.url("fanout", r, "ws") for r in regions},
        redis_urls={r: stack.redis_url(r) for r in regions},
        token_mint_url=stack.env[endpoints.TOKEN_MINT_URL],
        audit=stack.cassandra_target(cassandra_auth.READER),
        home=regions[0],
    )


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


@dataclass
class StackRun:
    """One herd on the stack: the verdict and what it cost whom."""

    result: Result
    sup: Supervisor
    wall_s: float
    workload_cpu_s: dict[str, float]
    """CPU seconds each workload used during the herd (a restarted one: since its restart)."""
    machine_busy: float
    """Share of the machine's CPU (all cores) busy during the herd, whoever used it."""

    def cpu_json(self) -> dict[str, object]:
        return {
            "wall_s": round(self.wall_s, 1),
            "machine_busy": round(self.machine_busy, 3),
            "workload_cpu_s": {k: round(v, 2) for k, v in self.workload_cpu_s.items()},
            "herd_client_cpu_s": {k: round(v, 2) for k, v in self.result.cpu_s.items()},
        }


def herd_on_stack(
    sizes: shape.Sizes,
    profile: shape.Profile,
    seed: int,
    log_dir: Path,
    faults: list[chaos.Fault] | None = None,
    *,
    client_processes: int = 0,
) -> StackRun:
    """Start the workloads, run one herd against them while ``faults`` happen (seconds from
    the herd's start), stop them; the result, the supervisor (its events: signals, exits and
    restarts, with their times) and the CPU each process and the machine used meanwhile."""
    stack = Stack(stack_env())
    regions = list(sizes.regions)
    with running_workloads(stack.env, regions, log_dir) as sup:
        console.print(f"workloads up in {', '.join(regions)} (logs in {log_dir})")
        herd = Herd(
            target_of(stack, sup, regions), sizes, profile, seed, client_processes=client_processes
        )
        runner = ChaosRunner(sup, faults or [], stack_servers(stack.run_dir))
        cpu0, ticks0, t0 = sup.cpu_seconds(), _machine_ticks(), time.monotonic()
        runner.start()
        try:
            result = asyncio.run(run(herd, say=console.print))
        finally:
            runner.stop()
        cpu1, ticks1 = sup.cpu_seconds(), _machine_ticks()
    busy = (ticks1[0] - ticks0[0]) / max(1, ticks1[1] - ticks0[1])
    used = {name: max(0.0, cpu1[name] - cpu0.get(name, 0.0)) for name in cpu1}
    return StackRun(result, sup, time.monotonic() - t0, used, busy)


def cpu_table(run_: StackRun) -> Table:
    """Who used the CPU during the herd, as a share of one core."""
    t = Table(
        title=f"CPU during the herd ({run_.wall_s:.0f} s; machine busy "
        f"{100 * run_.machine_busy:.0f} % of all cores)"
    )
    for col in ("process", "CPU s", "% of one core"):
        t.add_column(col, justify="left" if col == "process" else "right")
    rows = [
        *run_.workload_cpu_s.items(),
        *((f"herd clients {p['index']}", p["cpu_s"]) for p in run_.result.processes),
        ("herd coordinator", run_.result.cpu_s.get("coordinator", 0.0)),
    ]
    for name, cpu_s in sorted(rows, key=lambda r: -r[1]):
        t.add_row(name, f"{cpu_s:.1f}", f"{100 * cpu_s / max(run_.wall_s, 1e-9):.0f}")
    return t


FAULT_SIGNALS = {"SIGKILL": "killed", "SIGSTOP": "frozen"}


def event_marks(events: list[Event], started_ms: float) -> list[Mark]:
    """The supervisor's signals and restarts as marks on the herd's clock (its exits follow
    the kills and are left out)."""
    marks = []
    for e in events:
        t_s = e.at - started_ms / 1000
        if e.what in FAULT_SIGNALS:
            marks.append(Mark(t_s, f"{e.workload} {FAULT_SIGNALS[e.what]}", MarkKind.FAULT))
        elif e.what == "SIGCONT":
            marks.append(Mark(t_s, f"{e.workload} resumed", MarkKind.RECOVERY))
        elif e.what == "restarted":
            marks.append(Mark(t_s, f"{e.workload} restarted", MarkKind.RECOVERY))
    return marks


def result_json(done: StackRun, faults: list[chaos.Fault]) -> dict[str, object]:
    """The herd's JSON with what the stack adds: the plan, the workloads' events as marks
    and as records, the CPU everyone used."""
    result = done.result
    marks = sorted(
        [*result.marks, *event_marks(done.sup.events, result.started_ms)], key=lambda m: m.t_s
    )
    return {
        **result.as_json(),
        "marks": [m.as_json() for m in marks],
        "chaos": chaos.describe(faults),
        "workload_events": [e.__dict__ for e in done.sup.events],
        "cpu": done.cpu_json(),
    }


def plan_of(
    text: str | None, seed: int, sizes: shape.Sizes, profile: shape.Profile
) -> list[chaos.Fault]:
    """``--chaos``: a written plan, ``random`` (three faults drawn from the seed while bids
    flow), or nothing."""
    if not text:
        return []
    if text == "random":
        timeline = shape.Timeline.of(sizes, profile)
        return chaos.random_plan(seed, sizes.regions, timeline.opens_s, timeline.ends_s)
    return chaos.parse(text, sizes.regions)


def main(
    *,
    bidders: Bidders = 50,
    observers: Observers = 500,
    regions: Annotated[int, typer.Option(help="Regions of the stack to use (0: all).")] = 0,
    duration: Duration = 30,
    bid_rate: BidRate = None,
    client_processes: ClientProcesses = 0,
    profile: Profile = "launch",
    seed: Annotated[int | None, typer.Option(help="Seed (default: random, printed).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the result here.")] = None,
    svg_out: Annotated[
        Path | None, typer.Option("--svg", help="Also save the summary tables as an SVG here.")
    ] = None,
    report_out: Annotated[
        Path | None,
        typer.Option("--report", help="Write the HTML report here (default: in the log folder)."),
    ] = None,
    chaos_plan: Annotated[
        str | None,
        typer.Option(
            "--chaos",
            help="Faults: '30s kill relay/us; 45s stop fanout/eu for 5s', or 'random' (seeded).",
        ),
    ] = None,
) -> None:
    """Run one herd on the local stack and check it."""
    stack = Stack(stack_env())
    names = stack.regions[:regions] if regions else stack.regions
    sizes = shape.Sizes(bidders, observers, tuple(names), duration, bid_rate)
    if errors := sizes.errors():
        raise typer.BadParameter("; ".join(errors))
    seed = random.SystemRandom().randrange(2**31) if seed is None else seed
    try:
        chosen = shape.profile_named(profile)
        faults = plan_of(chaos_plan, seed, sizes, chosen)
    except (shape.ProfileError, chaos.ChaosError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    console.print(f"herd seed {seed}" + (f", chaos: {chaos.describe(faults)}" if faults else ""))
    # Not in the stack's run folder: the stack may be shared, its folder is its owner's.
    logs = Path(tempfile.mkdtemp(prefix="gavel-herd-"))
    done = herd_on_stack(sizes, chosen, seed, logs, faults, client_processes=client_processes)
    result = done.result
    # With --svg the tables go through a recording console (it prints them too) of a fixed
    # width, so the picture does not depend on the terminal it was taken in.
    shown = Console(record=True, width=SVG_WIDTH) if svg_out else console
    summary.print_result(result, shown)
    shown.print(cpu_table(done))
    for m in event_marks(done.sup.events, result.started_ms):
        shown.print(f"  {m.t_s:7.1f} s  {m.label}")
    if svg_out is not None:
        shown.save_svg(str(svg_out), title=f"scripts/herd (seed {seed})")
    out = result_json(done, faults)
    (json_out or logs / "result.json").write_text(json.dumps(out, indent=2) + "\n")
    written = report.write(out, report_out or logs / "report.html")
    console.print(f"report: {written}" + (f"; JSON: {json_out}" if json_out else ""))
    if not result.verdict.ok:
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
