"""``gavel token mint``: a bidder token from the local stack's token issuer.

A client of the issuer (``$GAVEL_TOKEN_MINT_URL``, printed by ``scripts/stack env``): it never
holds a signing key. Mounted as ``gavel token`` by :mod:`gavel.cli`.
"""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Bidder tokens.")


@app.command("mint")
def token_mint(
    bidder: Annotated[str, typer.Option(help="Bidder id (the token's subject).")],
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.", min=1)] = 3600,
) -> None:
    """Print a bidder token signed by the local stack's issuer ($GAVEL_TOKEN_MINT_URL)."""
    from gavel import endpoints, keys, token_client  # noqa: PLC0415

    if not keys.BIDDER_ID_PATTERN.match(bidder):
        raise typer.BadParameter(f"invalid bidder id {bidder!r}: 1-64 of A-Z a-z 0-9 . _ @ : -")
    try:
        typer.echo(token_client.mint(endpoints.token_mint_url(), [bidder], ttl)[0])
    except (endpoints.MissingEndpointError, token_client.MintError) as exc:
        raise typer.BadParameter(str(exc)) from exc
