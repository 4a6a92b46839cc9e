"""``scripts/stack``: up, env, status and down for the local stack.

Thin: parses flags, calls :mod:`gavel_devstack.stack`, and draws its progress and tables with
rich. Progress goes to stderr so ``up``'s stdout stays clean for scripts.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gavel_devstack import (
    component,
    components,
    components_redis,
    install,
    layout,
    probes,
    process,
    redis_auth,
    stack,
)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Real Redis, Kafka + MirrorMaker 2, Cassandra and Kubernetes on loopback.",
)
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

RunDir = Annotated[
    Path | None, typer.Option("--dir", help="Run folder (default: ./.stack, or $GAVEL_STACK_DIR).")
]


def _run_dir(given: Path | None) -> Path:
    return (given or stack.default_run_dir()).resolve()


@app.command()
def up(
    regions: Annotated[int, typer.Option(help=f"Regions to run, 1..{layout.MAX_REGIONS}.")] = 2,
    only: Annotated[
        str,
        typer.Option(
            help=f"Comma-separated subset of {','.join(components.KINDS)} "
            f"(default: {','.join(components.DEFAULT_KINDS)})."
        ),
    ] = "",
    run_dir: RunDir = None,
) -> None:
    """Install (first run), start and check the stack; exits non-zero if anything fails."""
    try:
        names = layout.regions_for(regions)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    kinds = {k.strip() for k in only.split(",") if k.strip()} or set(components.DEFAULT_KINDS)
    unknown = kinds - set(components.KINDS)
    if unknown:
        raise typer.BadParameter(
            f"unknown component(s) {sorted(unknown)}; choose from {','.join(components.KINDS)}"
        )
    building = [
        k
        for k in ("k8s", "nodes", "kafka", "cassandra")
        if k in kinds | ({"kafka"} if "mirror" in kinds else set()) and not install.is_installed(k)
    ]
    if building:
        err.print(
            f"[bold]first run:[/] building/fetching {', '.join(building)} into "
            f"{install.cache_dir()} (cached for later runs)"
        )
    begun = time.monotonic()
    lock = threading.Lock()

    def report(event: str, comp: component.Component, detail: str) -> None:
        if event == "waiting":
            return
        color = {"ready": "green", "failed": "red", "starting": "cyan"}[event]
        with lock:
            err.print(
                f"{time.monotonic() - begun:6.1f}s  [{color}]{event:<8}[/] {comp.key:<16} "
                f"port {comp.port or '-':<6} {detail if event != 'starting' else ''}"
            )

    try:
        state = stack.up(_run_dir(run_dir), names, kinds, report)
    except (stack.StackError, install.InstallError) as exc:
        err.print(f"[red]stack up failed[/] after {time.monotonic() - begun:.0f}s: {exc}")
        err.print("Run [bold]scripts/stack down[/] to stop what did start.")
        raise typer.Exit(1) from exc
    err.print(
        f"[green]stack up[/] in {time.monotonic() - begun:.1f}s: "
        f"{len(state.running)} processes, regions {','.join(state.regions)}"
    )


@app.command()
def env(run_dir: RunDir = None) -> None:
    """Print KEY=VALUE lines for the running stack (eval "$(scripts/stack env)")."""
    d = _run_dir(run_dir)
    state = stack.load_state(d)
    if state is None or not state.running:
        err.print(f"no stack is running in {d}; start one with scripts/stack up")
        raise typer.Exit(1)
    lines = stack.env_lines(d, state)
    for line in lines:
        sys.stdout.write(line + "\n")
    # One closing line exports them all, so `eval` hands them to child processes too.
    sys.stdout.write("export " + " ".join(line.split("=", 1)[0] for line in lines) + "\n")


def _state_cell(rec: stack.Running, run_dir: Path, *, listening: bool) -> str:
    if not listening:
        return "[red]down[/]"
    su = redis_auth.superuser(run_dir)
    auth = (su.user, su.password)
    role = probes.redis_role(rec.port, auth) if rec.kind in _REDIS_NODE_KINDS else None
    return f"[green]up[/] ({role})" if role else "[green]up[/]"


_REDIS_NODE_KINDS = ("redis", *components_redis.REPLICA_KINDS)


@app.command()
def status(run_dir: RunDir = None) -> None:
    """A table of every component: region, port, pid, memory, up/down."""
    d = _run_dir(run_dir)
    state = stack.load_state(d)
    if state is None or not state.running:
        err.print(f"no stack in {d}")
        raise typer.Exit(1)
    table = Table(title=f"gavel stack in {d} (port block {state.block})")
    for col in ("component", "region", "port", "pid", "memory", "state"):
        table.add_column(col, justify="right" if col in ("port", "pid", "memory") else "left")
    down_count = 0
    total_mib = 0
    for rec in sorted(state.running.values(), key=lambda r: (r.region, r.kind)):
        alive = rec.alive()
        listening = alive and (rec.port == component.NO_PORT or probes.port_open(rec.port))
        down_count += not listening
        rss = process.rss_mib(rec.pid) if alive else None
        total_mib += rss or 0
        table.add_row(
            rec.kind,
            rec.region,
            str(rec.port or "-"),
            str(rec.pid),
            f"{rss} MiB" if rss is not None else "-",
            _state_cell(rec, d, listening=listening),
        )
    table.add_section()
    up_count = len(state.running) - down_count
    table.add_row("total", "", "", "", f"{total_mib} MiB", f"{up_count}/{len(state.running)} up")
    out.print(table)
    if down_count:
        raise typer.Exit(1)


@app.command()
def down(
    run_dir: RunDir = None,
    purge: Annotated[
        bool, typer.Option(help="Also delete the run folder (data and logs).")
    ] = False,
) -> None:
    """Stop every process of the stack (also after a failed up); keeps data unless --purge."""
    d = _run_dir(run_dir)
    stopped = stack.down(d, purge=purge)
    err.print(f"stopped {len(stopped)} processes" + (f": {', '.join(stopped)}" if stopped else ""))


def main() -> None:
    app()
