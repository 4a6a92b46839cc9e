"""``gavel drops open``: a Drop manifest loaded into every region's Redis.

Mounted as ``gavel drops`` by :mod:`gavel.cli`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Drops in a region's Redis.")


@app.command("open")
def drops_open(
    manifest: Annotated[Path, typer.Argument(help="Drop manifest (YAML or JSON).")],
    region: Annotated[
        list[str],
        typer.Option(help="Region(s) to write to; default: every region in $GAVEL_REGIONS."),
    ] = [],  # noqa: B006
) -> None:
    """Load a Drop manifest into Redis: full rules and state in its home region, a copy of the
    rules elsewhere (so every region's gateway knows where to send its bids)."""
    import asyncio  # noqa: PLC0415

    import yaml  # noqa: PLC0415

    from gavel import drop_rules, drops, endpoints  # noqa: PLC0415

    try:
        parsed = yaml.safe_load(manifest.read_text())
        rules = drop_rules.rules_from_manifest(parsed)
        listing = drop_rules.listing_from_manifest(parsed)
        targets = region or endpoints.regions(flag="--region")
        urls = {r: endpoints.redis_url(r) for r in targets}
    except (
        OSError,
        yaml.YAMLError,
        drop_rules.ManifestError,
        endpoints.MissingEndpointError,
    ) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        results = asyncio.run(drops.open_everywhere(rules, urls, listing))
    except drop_rules.RulesFrozenError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    for r, outcome in results.items():
        typer.echo(f"{rules.drop_id} in {r}: {outcome}")
