"""``gavel audit migrate|show``: the audit trail in Cassandra, for an operator at a terminal.

Mounted as ``gavel audit`` by :mod:`gavel.cli`; the writer itself is ``gavel audit-writer``
(:mod:`gavel.cli.service_commands`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from gavel.cli.options import CassandraContact, CassandraDc, Keyspace, Replication

app = typer.Typer(no_args_is_help=True, help="The audit trail in Cassandra.")


@app.command("migrate")
def audit_migrate(
    cassandra_contact: CassandraContact = None,
    cassandra_dc: CassandraDc = None,
    keyspace: Keyspace = "gavel_audit",
    replication: Replication = None,
) -> None:
    """Create or upgrade the audit keyspace and tables (idempotent); with authentication on,
    as the admin role (``CASSANDRA_USER_ADMIN``), which then grants the writer and the reader
    their rights on the keyspace."""
    from gavel import cassandra_auth, endpoints  # noqa: PLC0415 - keeps `gavel --help` fast
    from gavel.audit import schema  # noqa: PLC0415
    from gavel.audit.settings import target_from_env  # noqa: PLC0415
    from gavel.audit.store import StoreErrors, connect, describe  # noqa: PLC0415

    try:
        dc = cassandra_dc or endpoints.cassandra_dc()
        target = target_from_env(cassandra_auth.ADMIN, cassandra_contact, dc, keyspace)
        wanted = schema.parse_replication(replication) if replication else {dc: 1}
    except (endpoints.MissingEndpointError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:
        cluster, session = connect(target)
    except StoreErrors as exc:
        typer.echo(f"error: {describe(exc, target)}", err=True)
        raise typer.Exit(1) from exc
    try:
        report = schema.migrate(session, keyspace, wanted)
        # With authentication the keyspace is the admin's: it lets the clients in.
        granted = schema.grant_clients(session, keyspace) if target.login else ()
    except schema.SchemaError as exc:
        typer.echo(f"error: migration failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    except StoreErrors as exc:
        typer.echo(f"error: migration failed: {describe(exc, target)}", err=True)
        raise typer.Exit(1) from exc
    finally:
        cluster.shutdown()
    applied = ", ".join(map(str, report.applied)) or "nothing (already up to date)"
    typer.echo(f"{report.keyspace}: schema version {report.version}; applied {applied}")
    typer.echo(f"replication: {report.replication}")
    for statement in granted:
        typer.echo(f"granted: {statement.removeprefix('GRANT ')}")


@app.command("show")
def audit_show(
    drop: Annotated[str, typer.Argument(help="Drop id.")],
    bidder: Annotated[str | None, typer.Option(help="Only this bidder's attempts.")] = None,
    outcome: Annotated[str | None, typer.Option(help="Only accepted or rejected attempts.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON lines (one attempt each) instead of a table.")
    ] = False,
    limit: Annotated[int, typer.Option(help="Attempts per page (1..1000).")] = 50,
    page_token: Annotated[
        str | None, typer.Option(help="Continue after the page that printed this token.")
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Every page, not just one.")] = False,
    cassandra_contact: CassandraContact = None,
    cassandra_dc: CassandraDc = None,
    keyspace: Keyspace = "gavel_audit",
) -> None:
    """Show DROP's bid attempts in decided-time order: a table, or JSON lines with --json."""
    import sys  # noqa: PLC0415

    from gavel import cassandra_auth, endpoints  # noqa: PLC0415 - keeps `gavel --help` fast
    from gavel.audit import reading  # noqa: PLC0415
    from gavel.audit.settings import target_from_env  # noqa: PLC0415
    from gavel.audit.show import show  # noqa: PLC0415
    from gavel.audit.store import StoreErrors, describe  # noqa: PLC0415

    try:
        target = target_from_env(cassandra_auth.READER, cassandra_contact, cassandra_dc, keyspace)
        filters = reading.Filters(bidder=bidder, outcome=reading.parse_outcome(outcome))
        cursor = reading.Cursor.from_token(page_token) if page_token else None
        reading.check_limit(limit)
    except (endpoints.MissingEndpointError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:
        show(
            target,
            drop,
            filters=filters,
            cursor=cursor,
            limit=limit,
            everything=everything,
            as_json=as_json,
            out=sys.stdout,
        )
    except StoreErrors as exc:
        typer.echo(f"error: reading the audit trail failed: {describe(exc, target)}", err=True)
        raise typer.Exit(1) from exc


@app.command("verify")
def audit_verify(
    drop: Annotated[str, typer.Argument(help="Drop id.")],
    redis_region: Annotated[
        str | None,
        typer.Option(help="Check the head against the drop's state in this region's Redis."),
    ] = None,
    head: Annotated[
        str | None, typer.Option(help="Check the head against N:HASH (e.g. from a receipt).")
    ] = None,
    cassandra_contact: CassandraContact = None,
    cassandra_dc: CassandraDc = None,
    keyspace: Keyspace = "gavel_audit",
) -> None:
    """Recompute DROP's audit hash chain from its rows; exit 1 at the first break."""
    import asyncio  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from redis import exceptions as redis_errors  # noqa: PLC0415

    from gavel import cassandra_auth, endpoints, keys  # noqa: PLC0415 - keeps `gavel --help` fast
    from gavel.audit.settings import target_from_env  # noqa: PLC0415
    from gavel.audit.store import StoreErrors, describe  # noqa: PLC0415
    from gavel.audit.verify import parse_anchor, redis_anchor, verify  # noqa: PLC0415
    from gavel.redis_acl import Role  # noqa: PLC0415

    if head and redis_region:
        raise typer.BadParameter("give --head or --redis-region, not both")
    try:
        keys.for_drop(drop)
        target = target_from_env(cassandra_auth.READER, cassandra_contact, cassandra_dc, keyspace)
        anchor = parse_anchor(head) if head else None
        url = endpoints.redis_url(redis_region, role=Role.OPERATOR) if redis_region else None
    except (endpoints.MissingEndpointError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    if url is not None:
        try:
            anchor = asyncio.run(redis_anchor(url, drop))
        except (redis_errors.RedisError, OSError) as exc:
            typer.echo(f"error: cannot read the drop's head from Redis: {exc}", err=True)
            raise typer.Exit(1) from exc
        if anchor is None:
            typer.echo(f"error: {drop} has no chain head in {redis_region}'s Redis", err=True)
            raise typer.Exit(1)
    try:
        report = verify(target, drop, anchor=anchor, out=sys.stdout)
    except StoreErrors as exc:
        typer.echo(f"error: reading the audit trail failed: {describe(exc, target)}", err=True)
        raise typer.Exit(1) from exc
    if not report.ok:
        raise typer.Exit(1)
