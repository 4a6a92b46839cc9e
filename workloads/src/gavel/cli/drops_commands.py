"""``gavel drops``: drops in Redis (``open``) and the merch console (``schedule``, ``list``,
``watch``, ``results``).

Mounted as ``gavel drops`` by :mod:`gavel.cli`. Each command parses its flags, calls into
:mod:`gavel.console` and turns its errors into one line on stderr and an exit status: 2 for bad
input (a malformed file, a bad flag), 1 when a server refused, could not be reached or does not
know the drop.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from gavel.cli.options import (
    CassandraContact,
    CassandraDc,
    DropNamespace,
    HubKubeconfig,
    Keyspace,
)

if TYPE_CHECKING:
    from rich.console import Console

    from gavel.console.hub import Hub

PIPE_WIDTH = 160

app = typer.Typer(no_args_is_help=True, help="Drops: schedule, list, watch, results; open.")


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _hub(kubeconfig: str | None) -> Hub:
    from gavel import endpoints  # noqa: PLC0415 - keeps `gavel --help` fast
    from gavel.console.hub import Hub, HubError  # noqa: PLC0415

    try:
        return Hub(kubeconfig or endpoints.hub_kubeconfig())
    except endpoints.MissingEndpointError as exc:
        _fail(str(exc), 2)
    except HubError as exc:
        _fail(str(exc))


def _console() -> Console:
    """A terminal's own width; piped or redirected, wide enough for a table not to be cut."""
    from rich.console import Console  # noqa: PLC0415

    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, PIPE_WIDTH))


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    """``NAME=URL`` flags as a dict; a bad one is the caller's mistake (exit 2)."""
    found = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not (sep and name and url):
            _fail(f"{flag} takes NAME=URL, not {value!r}", 2)
        found[name] = url
    return found


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
    from gavel.redis_acl import Role  # noqa: PLC0415

    try:
        parsed = yaml.safe_load(manifest.read_text())
        rules = drop_rules.rules_from_manifest(parsed)
        listing = drop_rules.listing_from_manifest(parsed)
        targets = region or endpoints.regions(flag="--region")
        urls = {r: endpoints.redis_url(r, role=Role.OPERATOR) for r in targets}
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


@app.command("schedule")
def drops_schedule(
    file: Annotated[Path, typer.Argument(help="A Drop (YAML or JSON), as for kubectl apply.")],
    namespace: DropNamespace = None,
    kubeconfig: HubKubeconfig = None,
) -> None:
    """Apply a Drop to the hub; the operator takes it from there. A spec the hub refuses is
    shown with the hub's own message."""
    from gavel.console import manifest  # noqa: PLC0415
    from gavel.console.hub import HubError, HubRefusedError  # noqa: PLC0415

    try:
        drop = manifest.parse_drop(file.read_text(), str(file))
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror or exc}", 2)
    except manifest.ManifestError as exc:
        _fail(str(exc), 2)
    ns = manifest.namespace_of(drop, namespace)
    hub = _hub(kubeconfig)
    try:
        applied = hub.apply_drop(drop, ns)
    except HubRefusedError as exc:
        typer.secho(f"error: the hub refused {file}:", err=True, fg=typer.colors.RED)
        if len(exc.causes) > 1:  # the message lists them all on one line; one a line instead
            typer.echo(f"  {exc.message.split(': ', 1)[0]}:", err=True)
            for cause in exc.causes:
                typer.echo(f"  - {cause}", err=True)
        else:
            typer.echo(f"  {exc.message}", err=True)
        raise typer.Exit(1) from exc
    except HubError as exc:
        _fail(str(exc))
    finally:
        hub.close()
    spec = applied.drop["spec"]
    typer.echo(
        f"drop {ns}/{drop['metadata']['name']} {applied.outcome} on the hub: home "
        f"{spec['homeRegion']}, {spec['startsAt']} to {spec['endsAt']}"
    )


@app.command("list")
def drops_list(
    namespace: DropNamespace = None,
    kubeconfig: HubKubeconfig = None,
) -> None:
    """The hub's drops (every namespace unless -n): phase, start, end, home region, high bid
    and regions ready, the end and high bid as their home Redis has them now."""
    import asyncio  # noqa: PLC0415

    from gavel.console import gather, render, snapshot  # noqa: PLC0415
    from gavel.console.hub import HubError  # noqa: PLC0415

    hub = _hub(kubeconfig)
    try:
        drops = hub.list_drops(namespace)
        readings = asyncio.run(gather.list_readings(hub, drops))
    except HubError as exc:
        _fail(str(exc))
    finally:
        hub.close()
    if not drops:
        typer.echo("no drops on the hub" + (f" in namespace {namespace}" if namespace else ""))
        return
    rows = [snapshot.list_row(d, r, e) for d, (r, e) in zip(drops, readings, strict=True)]
    _console().print(render.drops_table(rows))


@app.command("watch")
def drops_watch(
    drop: Annotated[str, typer.Argument(help="Drop name.")],
    namespace: DropNamespace = None,
    kubeconfig: HubKubeconfig = None,
    audit_writer: Annotated[
        list[str],
        typer.Option(help="NAME=URL of an audit writer (for its lag); repeatable."),
    ] = [],  # noqa: B006
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between refreshes.")] = 1.0,
    once: Annotated[
        bool, typer.Option("--once", help="Print one frame (two readings apart) and exit.")
    ] = False,
    svg: Annotated[
        Path | None, typer.Option(help="With --once: also save the frame as an SVG picture.")
    ] = None,
) -> None:
    """A live view of one drop, refreshed every second: phase, countdown, price, bids/s,
    refusals by reason, observers per region, relay backlog and audit lag. Ctrl-C leaves."""
    import asyncio  # noqa: PLC0415

    from rich.console import Console  # noqa: PLC0415

    from gavel.console import live  # noqa: PLC0415
    from gavel.console.gather import Gatherer, all_regions  # noqa: PLC0415
    from gavel.console.hub import HubError  # noqa: PLC0415

    if svg is not None and not once:
        _fail("--svg needs --once", 2)
    writers = _pairs(audit_writer, "--audit-writer")
    hub = _hub(kubeconfig)

    async def run() -> None:
        gatherer = Gatherer(
            hub, drop, namespace or "default", audit_writers=writers, regions=all_regions()
        )
        try:
            if once:
                frame = await live.once(gatherer, interval, _console())
                if svg is not None:
                    live.save_svg(frame, svg, f"gavel drops watch {drop}")
            else:
                await live.forever(gatherer, interval, Console())
        finally:
            await gatherer.close()

    try:
        asyncio.run(run())
    except HubError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        pass
    finally:
        hub.close()


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


@app.command("results")
def drops_results(
    drop: Annotated[str, typer.Argument(help="Drop name.")],
    output: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.TABLE,
    namespace: DropNamespace = None,
    kubeconfig: HubKubeconfig = None,
    cassandra_contact: CassandraContact = None,
    cassandra_dc: CassandraDc = None,
    keyspace: Keyspace = "gavel_audit",
) -> None:
    """The drop's result from its audit trail (winner, final price, reserve, bids, attempts by
    reason, bidders per region), checked against its final state in Redis: exit 1, saying
    where, when they disagree. Observers at peak per region come from each region's Redis."""
    import asyncio  # noqa: PLC0415

    from gavel import cassandra_auth, endpoints  # noqa: PLC0415
    from gavel.audit.settings import target_from_env  # noqa: PLC0415
    from gavel.audit.store import StoreErrors, describe  # noqa: PLC0415
    from gavel.console import gather, results, trail  # noqa: PLC0415
    from gavel.console.hub import HubError  # noqa: PLC0415
    from gavel.console.snapshot import DropInfo  # noqa: PLC0415

    try:
        target = target_from_env(cassandra_auth.READER, cassandra_contact, cassandra_dc, keyspace)
    except (endpoints.MissingEndpointError, ValueError) as exc:
        _fail(str(exc), 2)
    hub = _hub(kubeconfig)
    try:
        info = DropInfo.of(hub.get_drop(drop, namespace or "default"))
        url = gather.redis_url_of(hub, info.home)
        final = asyncio.run(trail.final_state(url, drop))
        attempts = asyncio.run(trail.read_trail(target, drop))
        observers = asyncio.run(trail.observers(hub, info))
    except (HubError, gather.NoRedisError, trail.NotOpenedError, ConnectionError) as exc:
        _fail(str(exc))
    except StoreErrors as exc:
        _fail(f"reading the audit trail failed: {describe(exc, target)}")
    finally:
        hub.close()
    result = results.tally(drop, attempts, final, observers)
    if output is Format.JSON:
        typer.echo(results.as_json(result))
    elif output is Format.CSV:
        typer.echo(results.as_csv(result), nl=False)
    else:
        _console().print(results.as_table(result))
    problems = results.disagreements(result, final)
    if problems:
        typer.secho(
            "error: the audit trail and the final Redis state disagree:",
            err=True,
            fg=typer.colors.RED,
        )
        for p in problems:
            typer.echo(f"  - {p}", err=True)
    unread = results.unread(result)
    for p in unread:
        typer.secho(f"error: could not read {p}", err=True, fg=typer.colors.RED)
    if problems or unread:
        raise typer.Exit(1)
