"""Options shared by several ``gavel`` commands: those that reach the audit keyspace or the hub.

Used by :mod:`gavel.cli.service_commands` (``audit-writer``), :mod:`gavel.cli.audit_commands`
and :mod:`gavel.cli.drops_commands`, so they spell the Cassandra and hub flags and their help the
same.
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
