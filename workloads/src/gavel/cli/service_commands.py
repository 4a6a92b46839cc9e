"""``gavel gateway|fanout|relay|audit-writer``: the long-running workloads a region deploys.

Registered on the root app by :mod:`gavel.cli`; the operator renders these commands and their
flags into every Deployment's container ``args`` (a unit test parses each rendered command with
this CLI). Each stays a thin wrapper: flags and endpoints become a settings object, then the
workload's own module runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gavel.cli.options import CassandraContact, CassandraDc, Keyspace, Replication


def gateway(
    region: Annotated[str, typer.Option(help="Region this gateway serves.")],
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8080,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    outbox_dir: Annotated[
        Path | None,
        typer.Option(help="Disk outbox folder (default: ./outbox-<region>)."),
    ] = None,
    rate_burst: Annotated[int, typer.Option(help="Bids a bidder may send at once.")] = 10,
    rate_per_second: Annotated[int, typer.Option(help="Sustained bids/s per bidder.")] = 5,
    workers: Annotated[int, typer.Option(help="Processes sharing the port.")] = 1,
    wait_replicas: Annotated[
        int | None,
        typer.Option(
            help="Replicas a decision must reach before a 201 (WAIT); default 1 for a Sentinel "
            "URL, 0 for a single server.",
            min=0,
        ),
    ] = None,
    wait_timeout_ms: Annotated[
        int, typer.Option(help="Longest WAIT before answering 503 unavailable.", min=1)
    ] = 500,
    allow_origin: Annotated[
        list[str],
        typer.Option(
            help="Origin of a drop page allowed to bid from a browser (repeat; CORS and bidder "
            "sockets); default: none."
        ),
    ] = [],  # noqa: B006
    jwks: Annotated[
        str | None,
        typer.Option(help="Bidder-token public keys: JWKS URL or file (default: $GAVEL_JWKS)."),
    ] = None,
    token_issuer: Annotated[
        str | None,
        typer.Option(help="Required token issuer, iss (default: $GAVEL_TOKEN_ISSUER)."),
    ] = None,
    jwks_refresh_s: Annotated[
        float, typer.Option(help="Fetch the JWKS this often (seconds).", min=1.0)
    ] = 300.0,
) -> None:
    """Run the bid gateway (REST + bidder WebSocket) for REGION."""
    import os  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415 - keeps `gavel --help` fast

    from gavel import endpoints  # noqa: PLC0415
    from gavel.auction import RateLimit  # noqa: PLC0415
    from gavel.gateway.app import create_asgi  # noqa: PLC0415
    from gavel.gateway.settings import ENV_VAR, GatewaySettings  # noqa: PLC0415
    from gavel.redis_acl import Role  # noqa: PLC0415

    try:
        urls = endpoints.redis_urls(role=Role.GATEWAY)
        endpoints.redis_url(region)
        jwks = jwks or endpoints.jwks()
        token_issuer = token_issuer or endpoints.token_issuer()
    except endpoints.MissingEndpointError as exc:
        raise typer.BadParameter(str(exc)) from exc
    settings = GatewaySettings(
        region=region,
        redis_urls=urls,
        jwks=jwks,
        token_issuer=token_issuer,
        jwks_refresh_s=jwks_refresh_s,
        jwks_min_gap_s=min(10.0, jwks_refresh_s),
        outbox_dir=outbox_dir or default_outbox_dir(region),
        rate_limit=RateLimit(rate_burst, rate_per_second),
        wait_replicas=wait_replicas,
        wait_timeout_ms=wait_timeout_ms,
        allowed_origins=tuple(o.rstrip("/") for o in allow_origin),
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
        uvicorn.run(create_asgi(settings), **serve)  # type: ignore[arg-type]
        return
    # Each worker is its own process with its own event loop, Redis pools and outbox segment.
    os.environ[ENV_VAR] = settings.to_env()
    uvicorn.run("gavel.gateway.app:app_from_environment", factory=True, workers=workers, **serve)  # type: ignore[arg-type]


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
    sockets_per_address: Annotated[
        int, typer.Option(help="Observer sockets one client address may hold.")
    ] = 256,
    handshakes_per_address: Annotated[
        float, typer.Option(help="Handshakes per second one client address may make.")
    ] = 32.0,
    trusted_network: Annotated[
        list[str],
        typer.Option(help="CIDR exempt from per-address limits (repeat); default: loopback."),
    ] = [],  # noqa: B006
    max_stale_ms: Annotated[
        float,
        typer.Option(
            help="When behind, skip a price that a newer one in hand superseded by more than "
            "this (observers get a resync snapshot); inf: broadcast every price."
        ),
    ] = 500.0,
    redis_url: Annotated[
        str | None,
        typer.Option(
            help="REGION's Redis, for the drop page's rules and titles (default: "
            "$REDIS_URL_<REGION>; neither: no drop pages)."
        ),
    ] = None,
    gateway_url: Annotated[
        list[str],
        typer.Option(help="REGION=URL of a bid gateway the drop page sends bids to (repeat)."),
    ] = [],  # noqa: B006
    demo_login_url: Annotated[
        str | None,
        typer.Option(help="Local stack only: the demo login the drop page offers bidders."),
    ] = None,
) -> None:
    """Serve live prices of every drop to observers of REGION over WebSockets, and the live
    drop page at /drops/{drop}."""

    import uvloop  # noqa: PLC0415

    from gavel import endpoints, kafka_auth  # noqa: PLC0415
    from gavel.fanout.admission import AddressLimits  # noqa: PLC0415
    from gavel.fanout.server import run  # noqa: PLC0415
    from gavel.fanout.settings import FanoutSettings, parse_gateway_urls  # noqa: PLC0415
    from gavel.redis_acl import Role  # noqa: PLC0415

    try:
        limits = AddressLimits(
            burst=max(1, int(2 * handshakes_per_address)),
            per_second=handshakes_per_address,
            max_open=sockets_per_address,
            **({"trusted": tuple(trusted_network)} if trusted_network else {}),
        )
        settings = FanoutSettings(
            region=region,
            regions=tuple(endpoints.regions()),
            kafka_bootstrap=kafka_bootstrap or endpoints.kafka_bootstrap(region),
            kafka_auth=kafka_auth.from_env(kafka_auth.FANOUT),
            host=host,
            port=port,
            allowed_origins=tuple(allow_origin),
            max_connections=max_connections,
            address_limits=limits,
            max_stale_ms=max_stale_ms,
            redis_url=endpoints.login(redis_url, Role.FANOUT) if redis_url else _page_redis(region),
            gateway_urls=parse_gateway_urls(gateway_url),
            demo_login_url=demo_login_url,
        )
    except (endpoints.MissingEndpointError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    uvloop.run(run(settings))


def _page_redis(region: str) -> str | None:
    """The fan-out's Redis for drop pages; without one it serves prices only."""
    from gavel import endpoints  # noqa: PLC0415
    from gavel.redis_acl import Role  # noqa: PLC0415

    try:
        return endpoints.redis_url(region, role=Role.FANOUT)
    except endpoints.MissingEndpointError:
        return None


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
    from gavel import endpoints, kafka_auth  # noqa: PLC0415 - keeps `gavel --help` fast
    from gavel.redis_acl import Role  # noqa: PLC0415
    from gavel.relay import RelaySettings, run_until_signalled  # noqa: PLC0415

    try:
        settings = RelaySettings(
            region=region,
            redis_url=endpoints.login(redis_url, Role.RELAY)
            if redis_url
            else endpoints.redis_url(region, flag="--redis-url", role=Role.RELAY),
            kafka_bootstrap=kafka_bootstrap or endpoints.kafka_bootstrap(region),
            kafka_auth=kafka_auth.from_env(kafka_auth.RELAY),
            port=port,
            host=host,
            outbox_dir=(outbox_dir or default_outbox_dir(region)) if outbox else None,
            claim_idle_ms=claim_idle_ms,
            streams=streams,
        )
    except (endpoints.MissingEndpointError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    run_until_signalled(settings)


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
    migrate: Annotated[
        bool,
        typer.Option(
            help="Apply the schema at start; --no-migrate where the writer role may not "
            "(the admin runs `gavel audit migrate`)."
        ),
    ] = True,
) -> None:
    """Write every attempt on REGION's gavel.audit to Cassandra, exactly once per event."""
    from gavel import cassandra_auth, endpoints, kafka_auth  # noqa: PLC0415 - keeps `gavel --help` fast
    from gavel.audit.schema import parse_replication  # noqa: PLC0415
    from gavel.audit.service import run_until_signalled  # noqa: PLC0415
    from gavel.audit.settings import WriterSettings, target_from_env  # noqa: PLC0415

    try:
        settings = WriterSettings(
            region=region,
            kafka_bootstrap=kafka_bootstrap or endpoints.kafka_bootstrap(region),
            kafka_auth=kafka_auth.from_env(kafka_auth.AUDIT_WRITER),
            cassandra=target_from_env(
                cassandra_auth.WRITER, cassandra_contact, cassandra_dc, keyspace
            ),
            port=port,
            host=host,
            replication=tuple(parse_replication(replication).items()) if replication else (),
            group_id=group,
            max_in_flight=max_in_flight,
            durability_window_s=durability_window,
            migrate=migrate,
        )
    except (endpoints.MissingEndpointError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    run_until_signalled(settings)


def default_outbox_dir(region: str) -> Path:
    """Where the gateway and relay of ``region`` share the disk outbox when no flag says: one
    folder per region under the working directory, so the gateways and relays of several regions
    started side by side never ship each other's attempts. Pods always pass ``--outbox-dir``."""
    return Path(f"outbox-{region}")
