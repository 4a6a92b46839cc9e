"""The ``gavel`` command: one entry point for every workload and tool.

Subcommands arrive with the components they run (``gateway``, ``relay``, ``fanout``,
``audit-writer``, ``operator``, ``drops``, ``token``, ``audit``); each stays a thin wrapper that
parses flags and calls into its module.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Gavel: global real-time auctions for one-of-a-kind drops.",
)


# Options shared by the commands that reach the audit keyspace.
CassandraContact = Annotated[
    str | None, typer.Option(help="Cassandra host:port (default: $CASSANDRA_CONTACT).")
]
CassandraDc = Annotated[
    str | None, typer.Option(help="Local Cassandra data centre (default: $CASSANDRA_DC).")
]
Keyspace = Annotated[str, typer.Option(help="Audit keyspace.")]
Replication = Annotated[
    str | None,
    typer.Option(
        envvar="GAVEL_AUDIT_REPLICATION",
        help="Replicas per DC if the keyspace is created, DC=N,... (default: local DC=1).",
    ),
]


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


token_app = typer.Typer(no_args_is_help=True, help="Bidder tokens.")
drops_app = typer.Typer(no_args_is_help=True, help="Drops in a region's Redis.")
app.add_typer(token_app, name="token")
app.add_typer(drops_app, name="drops")


@app.command()
def gateway(
    region: Annotated[str, typer.Option(help="Region this gateway serves.")],
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8080,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    outbox_dir: Annotated[
        Path | None,
        typer.Option(
            help="Disk outbox folder (default: $GAVEL_STACK_DIR/outbox-<region> or ./outbox)."
        ),
    ] = None,
    rate_burst: Annotated[int, typer.Option(help="Bids a bidder may send at once.")] = 10,
    rate_per_second: Annotated[int, typer.Option(help="Sustained bids/s per bidder.")] = 5,
    workers: Annotated[int, typer.Option(help="Processes sharing the port.")] = 1,
) -> None:
    """Run the bid gateway (REST + bidder WebSocket) for REGION."""
    import os  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415 - keeps `gavel --help` fast

    from gavel import endpoints  # noqa: PLC0415
    from gavel.bidding import RateLimit  # noqa: PLC0415
    from gavel.gateway.app import create_app  # noqa: PLC0415
    from gavel.gateway.settings import ENV_VAR, GatewaySettings  # noqa: PLC0415

    try:
        urls = endpoints.redis_urls()
        endpoints.redis_url(region)
        secret = endpoints.jwt_secret()
    except endpoints.MissingEndpointError as exc:
        raise typer.BadParameter(str(exc)) from exc
    settings = GatewaySettings(
        region=region,
        redis_urls=urls,
        jwt_secret=secret,
        outbox_dir=outbox_dir or default_outbox_dir(region),
        rate_limit=RateLimit(rate_burst, rate_per_second),
    )
    serve = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        # Longer than load balancers' idle timeouts (60 s): the proxy, not us, closes idle
        # keep-alive connections, so a client never writes into a connection we just closed.
        "timeout_keep_alive": 75,
        "ws_max_size": settings.max_ws_message_bytes,
        "loop": "uvloop",
        "http": "httptools",
    }
    if workers == 1:
        uvicorn.run(create_app(settings), **serve)  # type: ignore[arg-type]
        return
    # Each worker is its own process with its own event loop, Redis pools and outbox segment.
    os.environ[ENV_VAR] = settings.to_env()
    uvicorn.run("gavel.gateway.app:app_from_environment", factory=True, workers=workers, **serve)  # type: ignore[arg-type]


@app.command()
def fanout(
    region: Annotated[str, typer.Option(help="Region this fan-out serves.")],
    port: Annotated[
        int, typer.Option(help="Port for observer sockets, health and metrics.")
    ] = 8090,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    kafka_bootstrap: Annotated[
        str | None, typer.Option(help="Kafka of REGION (default: $KAFKA_BOOTSTRAP_<REGION>).")
    ] = None,
    allow_origin: Annotated[
        list[str], typer.Option(help="Browser origin allowed to connect (repeat); default: any.")
    ] = [],  # noqa: B006
    max_connections: Annotated[int, typer.Option(help="Sockets per process.")] = 50_000,
) -> None:
    """Serve live prices of every drop to observers of REGION over WebSockets."""

    import uvloop  # noqa: PLC0415

    from gavel import endpoints  # noqa: PLC0415
    from gavel.fanout.server import run  # noqa: PLC0415
    from gavel.fanout.settings import FanoutSettings  # noqa: PLC0415

    try:
        settings = FanoutSettings(
            region=region,
            regions=tuple(endpoints.regions()),
            kafka_bootstrap=kafka_bootstrap or endpoints.kafka_bootstrap(region),
            host=host,
            port=port,
            allowed_origins=tuple(allow_origin),
            max_connections=max_connections,
        )
    except endpoints.MissingEndpointError as exc:
        raise typer.BadParameter(str(exc)) from exc
    uvloop.run(run(settings))


operator_app = typer.Typer(no_args_is_help=True, help="The Kubernetes operator and its CRDs.")
app.add_typer(operator_app, name="operator")


CRD_FOLDERS = "--write crds/ --write charts/gavel-operator/crds/"
"""The generated copies of the CRDs: the repository's and the Helm chart's (Helm cannot read
files outside a chart)."""


@operator_app.command("crds")
def operator_crds(
    write: Annotated[
        list[Path] | None,
        typer.Option(
            help="Write one YAML file per CRD into this folder instead of printing them; "
            f"repeat for several folders ({CRD_FOLDERS})."
        ),
    ] = None,
) -> None:
    """Print (or write) the Region and Drop CRDs, generated from gavel_operator.crds."""
    import yaml  # noqa: PLC0415

    from gavel_operator import crds  # noqa: PLC0415

    for name, crd in crds.all_crds().items():
        text = f"# Generated by `gavel operator crds {CRD_FOLDERS}`; edit gavel_operator/crds.py.\n"
        text += yaml.safe_dump(crd, sort_keys=False, width=100)
        if not write:
            typer.echo("---\n" + text)
        for folder in write or []:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)


HELM_NAMESPACE = "{{ .Release.Namespace }}"


@operator_app.command("rbac")
def operator_rbac(
    regional: Annotated[
        bool, typer.Option(help="The regional clusters' side instead of the hub's.")
    ] = False,
    namespace: Annotated[
        str, typer.Option(help="Namespace of the ServiceAccount (hub: the operator's).")
    ] = "",
    write: Annotated[Path | None, typer.Option(help="Write to this file instead.")] = None,
) -> None:
    """Print (or write) the operator's RBAC, generated from gavel_operator.rbac."""
    import yaml  # noqa: PLC0415

    from gavel_operator import rbac  # noqa: PLC0415

    if regional:
        objects = rbac.regional(namespace or "kube-system")
    else:
        objects = rbac.hub(namespace or HELM_NAMESPACE)
    text = "# Generated by `gavel operator rbac`; edit gavel_operator/rbac.py.\n"
    text += yaml.safe_dump_all(objects, sort_keys=False, width=100)
    if write is None:
        typer.echo(text, nl=False)
    else:
        write.write_text(text)


@operator_app.command("enrol")
def operator_enrol(
    region: Annotated[str, typer.Argument(help="The Region's name, e.g. us.")],
    kubeconfig: Annotated[
        Path, typer.Option(help="An admin kubeconfig of the regional cluster (stays local).")
    ],
    hub_kubeconfig: Annotated[
        Path | None, typer.Option(help="The hub's kubeconfig (default: $KUBECONFIG).")
    ] = None,
    namespace: Annotated[
        str, typer.Option(help="The operator's namespace in the hub.")
    ] = "gavel-system",
    ttl_days: Annotated[int, typer.Option(help="Lifetime of the token; re-run to rotate.")] = 365,
) -> None:
    """Give the operator access to a regional cluster: regional RBAC, a token, and the
    kubeconfig Secret gavel-region-<REGION> in the hub."""
    import yaml  # noqa: PLC0415

    from gavel_operator import enrolment, kube  # noqa: PLC0415

    def connect(path: Path | None, label: str) -> kube.Kube:
        if path is None:
            return kube.Kube.from_environment(label)
        return kube.Kube.from_kubeconfig(yaml.safe_load(path.read_text()), label)

    try:
        written = enrolment.enrol(
            region,
            regional_admin=connect(kubeconfig, region),
            hub=connect(hub_kubeconfig, "hub"),
            namespace=namespace,
            ttl_s=ttl_days * 86_400,
        )
    except (kube.KubeError, kube.Unreachable) as exc:
        typer.echo(f"enrol {region}: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"region {region}: kubeconfig Secret {written} written")


@operator_app.command("run")
def operator_run(
    verbose: Annotated[bool, typer.Option(help="Log every kopf step.")] = False,
    liveness_port: Annotated[
        int, typer.Option(help="Port of kopf's /healthz probe (0: none).")
    ] = 8085,
) -> None:
    """Run the operator against the hub cluster ($KUBECONFIG, or in-cluster credentials).

    Settings come from the environment: GAVEL_OPERATOR_NAMESPACE (where the Regions' kubeconfig
    Secrets live), GAVEL_IMAGE, GAVEL_OPERATOR_TICK_S, GAVEL_OPERATOR_RESYNC_S,
    GAVEL_OPERATOR_METRICS_PORT.
    """
    from gavel_operator import main  # noqa: PLC0415

    main.run(verbose=verbose, liveness_port=liveness_port or None)


def default_outbox_dir(region: str) -> Path:
    """Where the gateway and relay of ``region`` share the disk outbox on this machine."""
    import os  # noqa: PLC0415

    base = os.environ.get("GAVEL_STACK_DIR")
    return Path(base) / f"outbox-{region}" if base else Path("outbox")


@token_app.command("mint")
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


@drops_app.command("open")
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

    from gavel import drops, endpoints  # noqa: PLC0415

    try:
        rules = drops.rules_from_manifest(yaml.safe_load(manifest.read_text()))
        targets = region or endpoints.regions()
        urls = {r: endpoints.redis_url(r) for r in targets}
    except (OSError, yaml.YAMLError, drops.ManifestError, endpoints.MissingEndpointError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        results = asyncio.run(drops.open_everywhere(rules, urls))
    except drops.RulesFrozenError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    for r, outcome in results.items():
        typer.echo(f"{rules.drop_id} in {r}: {outcome}")


@app.command()
def relay(
    region: Annotated[str, typer.Option(help="Region whose drop streams this relay drains.")],
    port: Annotated[int, typer.Option(help="HTTP port of /healthz, /readyz and /metrics.")],
    redis_url: Annotated[
        str | None, typer.Option(help="Redis URL (default: $REDIS_URL_<REGION>).")
    ] = None,
    kafka_bootstrap: Annotated[
        str | None,
        typer.Option(help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP_<REGION>)."),
    ] = None,
    outbox_dir: Annotated[
        Path | None,
        typer.Option(help="The gateway's disk outbox to ship (default: the gateway's default)."),
    ] = None,
    claim_idle_ms: Annotated[
        int, typer.Option(help="Claim entries another relay left pending this long.")
    ] = 10_000,
    host: Annotated[str, typer.Option(help="Address to bind the HTTP port to.")] = "127.0.0.1",
    streams: Annotated[
        bool,
        typer.Option(
            help="Relay the drop streams (one such relay per region); --no-streams: only ship "
            "the disk outbox, as the sidecar of a gateway pod."
        ),
    ] = True,
    outbox: Annotated[
        bool, typer.Option(help="Ship the disk outbox (--no-outbox: the streams only).")
    ] = True,
) -> None:
    """Relay REGION's drop streams (and a disk outbox) into Kafka: gavel.audit and gavel.price."""
    from gavel import endpoints  # noqa: PLC0415 - keeps `gavel --help` fast
    from gavel.relay import RelaySettings, run_until_signalled  # noqa: PLC0415

    try:
        settings = RelaySettings(
            region=region,
            redis_url=redis_url or endpoints.redis_url(region),
            kafka_bootstrap=kafka_bootstrap or endpoints.kafka_bootstrap(region),
            port=port,
            host=host,
            outbox_dir=(outbox_dir or default_outbox_dir(region)) if outbox else None,
            claim_idle_ms=claim_idle_ms,
            streams=streams,
        )
    except (endpoints.MissingEndpointError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    run_until_signalled(settings)


@app.command("audit-writer")
def audit_writer(
    region: Annotated[str, typer.Option(help="Region whose gavel.audit this writer consumes.")],
    port: Annotated[
        int, typer.Option(help="HTTP port of /healthz, /readyz, /metrics and /v1/audit.")
    ],
    host: Annotated[str, typer.Option(help="Address to bind the HTTP port to.")] = "127.0.0.1",
    kafka_bootstrap: Annotated[
        str | None,
        typer.Option(help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP_<REGION>)."),
    ] = None,
    cassandra_contact: CassandraContact = None,
    cassandra_dc: CassandraDc = None,
    keyspace: Keyspace = "gavel_audit",
    replication: Replication = None,
    group: Annotated[str, typer.Option(help="Kafka consumer group.")] = "gavel-audit-writer",
    max_in_flight: Annotated[
        int, typer.Option(help="Records taken from Kafka and not yet durable, at most.")
    ] = 2048,
    durability_window: Annotated[
        float,
        typer.Option(
            help="Commit offsets only for rows written this many seconds ago (above "
            "Cassandra's commitlog_sync_period); 0 if its commit log syncs before acking."
        ),
    ] = 15.0,
) -> None:
    """Write every attempt on REGION's gavel.audit to Cassandra, exactly once per event."""
    from gavel import endpoints  # noqa: PLC0415 - keeps `gavel --help` fast
    from gavel.audit.schema import parse_replication  # noqa: PLC0415
    from gavel.audit.service import run_until_signalled  # noqa: PLC0415
    from gavel.audit.settings import CassandraTarget, WriterSettings, parse_contact  # noqa: PLC0415

    try:
        contact = parse_contact(cassandra_contact or endpoints.cassandra_contact())
        settings = WriterSettings(
            region=region,
            kafka_bootstrap=kafka_bootstrap or endpoints.kafka_bootstrap(region),
            cassandra=CassandraTarget(
                *contact, local_dc=cassandra_dc or endpoints.cassandra_dc(), keyspace=keyspace
            ),
            port=port,
            host=host,
            replication=tuple(parse_replication(replication).items()) if replication else (),
            group_id=group,
            max_in_flight=max_in_flight,
            durability_window_s=durability_window,
        )
    except (endpoints.MissingEndpointError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    run_until_signalled(settings)


audit_app = typer.Typer(no_args_is_help=True, help="The audit trail in Cassandra.")
app.add_typer(audit_app, name="audit")


@audit_app.command("migrate")
def audit_migrate(
    cassandra_contact: CassandraContact = None,
    cassandra_dc: CassandraDc = None,
    keyspace: Keyspace = "gavel_audit",
    replication: Replication = None,
) -> None:
    """Create or upgrade the audit keyspace and tables (idempotent; the writer runs it too)."""
    from gavel import endpoints  # noqa: PLC0415 - keeps `gavel --help` fast
    from gavel.audit import schema  # noqa: PLC0415
    from gavel.audit.settings import CassandraTarget, parse_contact  # noqa: PLC0415
    from gavel.audit.store import StoreErrors, connect  # noqa: PLC0415

    try:
        dc = cassandra_dc or endpoints.cassandra_dc()
        target = CassandraTarget(
            *parse_contact(cassandra_contact or endpoints.cassandra_contact()),
            local_dc=dc,
            keyspace=keyspace,
        )
        wanted = schema.parse_replication(replication) if replication else {dc: 1}
    except (endpoints.MissingEndpointError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:
        cluster, session = connect(target)
    except StoreErrors as exc:
        typer.echo(f"error: cannot reach Cassandra at {target.host}:{target.port}: {exc}", err=True)
        raise typer.Exit(1) from exc
    try:
        report = schema.migrate(session, keyspace, wanted)
    except schema.SchemaError as exc:
        typer.echo(f"error: migration failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    except StoreErrors as exc:
        typer.echo(f"error: migration failed: {exc!r}", err=True)
        raise typer.Exit(1) from exc
    finally:
        cluster.shutdown()
    applied = ", ".join(map(str, report.applied)) or "nothing (already up to date)"
    typer.echo(f"{report.keyspace}: schema version {report.version}; applied {applied}")
    typer.echo(f"replication: {report.replication}")


@audit_app.command("show")
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

    from gavel import endpoints  # noqa: PLC0415 - keeps `gavel --help` fast
    from gavel.audit import reading  # noqa: PLC0415
    from gavel.audit.settings import CassandraTarget, parse_contact  # noqa: PLC0415
    from gavel.audit.show import show  # noqa: PLC0415
    from gavel.audit.store import StoreErrors  # noqa: PLC0415

    try:
        target = CassandraTarget(
            *parse_contact(cassandra_contact or endpoints.cassandra_contact()),
            local_dc=cassandra_dc or endpoints.cassandra_dc(),
            keyspace=keyspace,
        )
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
        typer.echo(f"error: reading the audit trail failed: {exc}", err=True)
        raise typer.Exit(1) from exc


def main() -> None:
    app()
