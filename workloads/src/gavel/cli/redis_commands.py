"""``gavel redis``: the operator's privileged Redis chores (the loader of the Lua scripts).

Logs in as the operator's ACL user (``REDIS_AUTH_OPERATOR``, :mod:`gavel.endpoints`); the
loading itself is :mod:`gavel.script_loader`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="A region's Redis: load the Lua scripts.")


@app.command("load-scripts")
def load_scripts(
    region: Annotated[list[str], typer.Option(help="Region (repeat); default: every region.")] = [],  # noqa: B006
) -> None:
    """Load every Lua script into every node (primary and replicas) of each region's Redis."""
    from gavel import endpoints, luascripts, script_loader  # noqa: PLC0415
    from gavel.redis_acl import Role  # noqa: PLC0415

    try:
        targets = region or endpoints.regions(flag="--region")
        urls = {r: endpoints.redis_url(r, role=Role.OPERATOR) for r in targets}
    except endpoints.MissingEndpointError as exc:
        raise typer.BadParameter(str(exc)) from exc
    for name, url in urls.items():
        try:
            nodes = asyncio.run(script_loader.load_everywhere(url))
        except (luascripts.ScriptNotLoadedError, OSError) as exc:
            typer.echo(f"error: {name}: {exc}", err=True)
            raise typer.Exit(1) from exc
        typer.echo(f"{name}: {len(luascripts.NAMES)} scripts on {', '.join(nodes)}")
