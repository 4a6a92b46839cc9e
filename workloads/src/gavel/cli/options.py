"""Options shared by several commands, so they spell their flags and help the same: those that
reach the audit keyspace or the hub (:mod:`gavel.cli.service_commands`' ``audit-writer``,
:mod:`gavel.cli.audit_commands`, :mod:`gavel.cli.drops_commands`), and the shape of a herd
(:mod:`gavel.cli.herd_commands` and the dev stack's :mod:`gavel_devstack.herd` and
:mod:`gavel_devstack.herd_soak`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from gavel import endpoints

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
        envvar=endpoints.AUDIT_REPLICATION,
        help="Replicas per DC if the keyspace is created, DC=N,... (default: local DC=1).",
    ),
]
HubKubeconfig = Annotated[
    str | None,
    typer.Option("--kubeconfig", help="Kubeconfig of the hub cluster (default: $KUBECONFIG_HUB)."),
]
DropNamespace = Annotated[
    str | None, typer.Option("--namespace", "-n", help="Namespace of the Drop (default: default).")
]

# The shape of a herd: ``gavel herd``, the dev stack's ``scripts/herd`` and ``scripts/herd-soak``.
Bidders = Annotated[int, typer.Option(help="Bidders in total, spread over the regions.")]
Observers = Annotated[int, typer.Option(help="Observers in total, spread over the regions.")]
Duration = Annotated[float, typer.Option(help="Seconds from the open to the planned end.")]
BidRate = Annotated[
    float | None,
    typer.Option(help="Open loop: steady bids/s of all bidders together (default: closed loop)."),
]
ClientProcesses = Annotated[
    int, typer.Option(help="Processes running the clients (0: one per core).", min=0)
]
Profile = Annotated[str, typer.Option(help="Named profile: launch or smoke.")]
