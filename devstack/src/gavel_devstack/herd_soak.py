"""``scripts/herd-soak``: many seeded chaos herds in a row on the local stack, one table.

A single chaos herd that passes says little: the faults it drew may have missed every race. The
soak runs ``--runs`` herds back to back on one running stack, run *i* seeded ``seed + i`` with
``--chaos random`` (three faults drawn from that seed while bids flow, see
:func:`gavel.herd.chaos.random_plan`), keeps each run's JSON and HTML report, and prints one row
per run. Any seed that fails reproduces alone with ``scripts/herd --seed S --chaos random`` and
the same sizes. Exits 1 when any run found a violation.

Built on :func:`gavel_devstack.herd.herd_on_stack`; the rows are made from each run's JSON
(:func:`row_of`, pure) so the table reads the same figures the reports show.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from gavel.cli.options import Bidders, BidRate, ClientProcesses, Duration, Observers, Profile
from gavel.herd import chaos, report, shape
from gavel_devstack.harness.processes import stack_env
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.herd import herd_on_stack, plan_of, result_json

# A log file gets the width of a wide terminal rather than rich's 80 columns: the faults column
# is the one a reader wants whole.
console = Console() if sys.stdout.isatty() else Console(width=132)
COLUMNS = ("run", "seed", "faults", "verdict", "accepted", "audit rows", "ack p99 ms", "obs p99 ms")


def row_of(run: int, out: dict[str, Any]) -> tuple[str, ...]:
    """One table row from a run's JSON (:func:`gavel_devstack.herd.result_json`)."""
    verdict = out["verdict"]
    worst = max(
        verdict["decision_to_observer_ms"].items(),
        key=lambda kv: kv[1]["p99_ms"],
        default=("-", {"p99_ms": 0.0}),
    )
    if verdict["ok"]:
        outcome = "[green]pass[/]"
    else:
        kinds = ", ".join(f"{v['kind']} x{v['count']}" for v in verdict["violations"])
        outcome = f"[red]FAIL[/] {kinds}"
    return (
        str(run),
        str(out["seed"]),
        (out["chaos"] or "-").replace("; ", "\n"),
        outcome,
        f"{verdict['accepted']:,}",
        f"{verdict['audit_rows']:,}",
        f"{verdict['ack_ms']['p99_ms']:.1f}",
        f"{worst[1]['p99_ms']:.1f} {worst[0]}",
    )


def soak_table(rows: list[tuple[str, ...]], first_seed: int) -> Table:
    failed = sum("FAIL" in r[3] for r in rows)
    t = Table(
        title=f"herd soak: {len(rows) - failed} of {len(rows)} runs passed",
        caption=f"seeds {first_seed}..{first_seed + len(rows) - 1}; reproduce one with "
        "scripts/herd --seed S --chaos random and the same sizes",
    )
    for col in COLUMNS:
        t.add_column(col, justify="left" if col in ("faults", "verdict") else "right")
    for r in rows:
        t.add_row(*r)
    return t


def main(
    *,
    runs: Annotated[int, typer.Option(help="Herds to run, one after the other.")] = 10,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the first run (default: random, printed).")
    ] = None,
    bidders: Bidders = 20,
    observers: Observers = 200,
    regions: Annotated[int, typer.Option(help="Regions of the stack to use (0: all).")] = 0,
    duration: Duration = 20,
    bid_rate: BidRate = None,
    client_processes: ClientProcesses = 0,
    profile: Profile = "smoke",
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder for each run's JSON and report.")
    ] = None,
) -> None:
    """Run seeded chaos herds back to back on the local stack and print one row per run."""
    if runs < 1:
        raise typer.BadParameter("--runs must be at least 1")
    stack = Stack(stack_env())
    names = stack.regions[:regions] if regions else stack.regions
    sizes = shape.Sizes(bidders, observers, tuple(names), duration, bid_rate)
    if errors := sizes.errors():
        raise typer.BadParameter("; ".join(errors))
    try:
        chosen = shape.profile_named(profile)
    except shape.ProfileError as exc:
        raise typer.BadParameter(str(exc)) from exc
    first = random.SystemRandom().randrange(2**31) if seed is None else seed
    folder = out_dir or Path(tempfile.mkdtemp(prefix="gavel-herd-soak-"))
    folder.mkdir(parents=True, exist_ok=True)
    console.print(f"herd soak: {runs} runs from seed {first}; results in {folder}")
    rows: list[tuple[str, ...]] = []
    for i in range(runs):
        run_seed = first + i
        faults: list[chaos.Fault] = plan_of("random", run_seed, sizes, chosen)
        console.rule(f"run {i + 1}/{runs}: seed {run_seed}, {chaos.describe(faults)}")
        logs = folder / f"seed-{run_seed}"
        logs.mkdir(exist_ok=True)
        done = herd_on_stack(
            sizes, chosen, run_seed, logs, faults, client_processes=client_processes
        )
        out = result_json(done, faults)
        (logs / "result.json").write_text(json.dumps(out, indent=2) + "\n")
        report.write(out, logs / "report.html")
        rows.append(row_of(i + 1, out))
        console.print(soak_table(rows, first))
    if any("FAIL" in r[3] for r in rows):
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
