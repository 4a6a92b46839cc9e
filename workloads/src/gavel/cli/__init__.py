"""The ``gavel`` command: one entry point for every workload and tool a deployment runs.

``[project.scripts] gavel = "gavel.cli:main"`` and ``python -m gavel`` land here; the image's
entrypoint is this command. This module only assembles the app; each command group lives in its
own module and stays a thin wrapper that parses flags and calls into the code it runs:
:mod:`~gavel.cli.service_commands` (``gateway``, ``fanout``, ``relay``, ``audit-writer``),
:mod:`~gavel.cli.token_commands` (``token``), :mod:`~gavel.cli.drops_commands` (``drops``),
:mod:`~gavel.cli.operator_commands` (``operator``), :mod:`~gavel.cli.audit_commands`
(``audit``) and :mod:`~gavel.cli.herd_commands` (``herd``). The local stack and the demos are
not here: they are development tools beside the product (``scripts/``).
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated

import typer

from gavel.cli import (
    audit_commands,
    drops_commands,
    herd_commands,
    operator_commands,
    redis_commands,
    service_commands,
    token_commands,
)

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


# Registration order is the order `gavel --help` lists them in.
app.add_typer(token_commands.app, name="token")
app.add_typer(drops_commands.app, name="drops")
app.add_typer(redis_commands.app, name="redis")
app.command()(service_commands.gateway)
app.command()(service_commands.fanout)
app.add_typer(operator_commands.app, name="operator")
app.command()(service_commands.relay)
app.command("audit-writer")(service_commands.audit_writer)
app.add_typer(audit_commands.app, name="audit")
app.command()(herd_commands.herd)


def main() -> None:
    app()
