"""The ``gavel`` command: one entry point for every workload and tool.

Subcommands arrive with the components they run (``gateway``, ``relay``, ``fanout``,
``audit-writer``, ``operator``, ``drops``, ``token``, ``audit``); each stays a thin wrapper that
parses flags and calls into its module.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Gavel: global real-time auctions for one-of-a-kind drops.",
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"gavel {version('gavel')}")
        raise typer.Exit


@app.callback()
def root(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Gavel: global real-time auctions for one-of-a-kind drops."""


@app.command()
def topics() -> None:
    """List the Kafka topics every region holds, with partitions and retention."""
    from gavel import topics as t  # noqa: PLC0415 - keeps `gavel --help` fast

    for spec in t.LOCAL_TOPICS:
        typer.echo(
            f"{spec.name:<20} partitions={spec.partitions:<3} "
            f"retention={spec.retention_ms // 3_600_000}h"
        )


def main() -> None:
    app()
