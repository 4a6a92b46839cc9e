"""``gavel token mint``: bidder tokens signed with the gateways' secret.

Mounted as ``gavel token`` by :mod:`gavel.cli`.
"""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Bidder tokens.")


@app.command("mint")
def token_mint(
    bidder: Annotated[str, typer.Option(help="Bidder id (the token's subject).")],
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600,
) -> None:
    """Print a bidder token signed with $GAVEL_JWT_SECRET."""
    from gavel import endpoints  # noqa: PLC0415
    from gavel.gateway import auth  # noqa: PLC0415

    try:
        typer.echo(auth.mint(endpoints.jwt_secret(), bidder, ttl))
    except (endpoints.MissingEndpointError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
