"""``gavel herd``: rehearse one drop against a running Gavel and check it (docs/herd.md).

Registered on the root app by :mod:`gavel.cli`. Thin: flags and endpoints become a
:class:`gavel.herd.run.Herd`, :func:`gavel.herd.run.run` drives it, and the verdict is printed
(:mod:`gavel.herd.summary`) and optionally written as JSON. Exits 1 when the checker found a
violation.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Annotated

import typer

from gavel.cli.options import (
    Bidders,
    BidRate,
    CassandraContact,
    CassandraDc,
    ClientProcesses,
    Duration,
    Keyspace,
    Observers,
    Profile,
)

Urls = Annotated[
    list[str],
    typer.Option(help="REGION=URL, once per region (repeat the flag)."),
]


def parse_urls(values: list[str], flag: str) -> dict[str, str]:
    """``["us=http://a", ...]`` -> ``{"us": "http://a"}``; a clear error for anything else."""
    out = {}
    for value in values:
        region, sep, url = value.partition("=")
        if not sep or not region or not url:
            raise typer.BadParameter(f"{flag} takes REGION=URL, not {value!r}")
        out[region.strip()] = url.strip().rstrip("/")
    return out


def herd(
    gateway: Urls,
    fanout: Urls,
    regions: Annotated[
        str | None, typer.Option(help="Comma-separated regions (default: every --gateway).")
    ] = None,
    home: Annotated[
        str | None, typer.Option(help="The drop's home region (default: first).")
    ] = None,
    bidders: Bidders = 50,
    observers: Observers = 500,
    duration: Duration = 30,
    bid_rate: BidRate = None,
    client_processes: ClientProcesses = 0,
    profile: Profile = "launch",
    seed: Annotated[int | None, typer.Option(help="Seed (default: a random one, printed).")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the result as JSON here.")
    ] = None,
    report_out: Annotated[
        Path | None,
        typer.Option("--report", help="Also write the HTML report (plots) here."),
    ] = None,
    cassandra_contact: CassandraContact = None,
    cassandra_dc: CassandraDc = None,
    keyspace: Keyspace = "gavel_audit",
) -> None:
    """Drive one drop like a launch (observers surge, bidders burst, snipe) and check it."""
    import asyncio  # noqa: PLC0415
    import json  # noqa: PLC0415

    from gavel import cassandra_auth, endpoints  # noqa: PLC0415
    from gavel.audit.settings import target_from_env  # noqa: PLC0415
    from gavel.herd import report, shape, summary  # noqa: PLC0415
    from gavel.herd.run import Herd, Target, run  # noqa: PLC0415
    from gavel.redis_acl import Role  # noqa: PLC0415

    gateways, fanouts = parse_urls(gateway, "--gateway"), parse_urls(fanout, "--fanout")
    names = tuple(r.strip() for r in regions.split(",")) if regions else tuple(gateways)
    missing = [
        f"{flag} {r}="
        for r in names
        for flag, urls in (("--gateway", gateways), ("--fanout", fanouts))
        if r not in urls
    ]
    if missing:
        raise typer.BadParameter("missing " + ", ".join(missing))
    sizes = shape.Sizes(bidders, observers, names, duration, bid_rate)
    if errors := sizes.errors():
        raise typer.BadParameter("; ".join(errors))
    try:
        chosen = shape.profile_named(profile)
        target = Target(
            gateways=gateways,
            fanouts=fanouts,
            redis_urls={r: endpoints.redis_url(r, role=Role.OPERATOR) for r in names},
            token_mint_url=endpoints.token_mint_url(),
            audit=target_from_env(cassandra_auth.READER, cassandra_contact, cassandra_dc, keyspace),
            home=home or names[0],
        )
    except (shape.ProfileError, endpoints.MissingEndpointError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    if target.home not in names:
        raise typer.BadParameter(f"--home {target.home} is not one of the regions {names}")
    seed = random.SystemRandom().randrange(2**31) if seed is None else seed
    typer.echo(f"herd seed {seed}")
    result = asyncio.run(
        run(Herd(target, sizes, chosen, seed, client_processes=client_processes), say=typer.echo)
    )
    summary.print_result(result)
    if json_out is not None:
        json_out.write_text(json.dumps(result.as_json(), indent=2) + "\n")
    if report_out is not None:
        typer.echo(f"report: {report.write(result.as_json(), report_out)}")
    if not result.verdict.ok:
        raise typer.Exit(1)
