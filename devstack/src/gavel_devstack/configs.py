"""Config files of the local stack's servers: pure renderers, text in, text out.

Called by :mod:`gavel_devstack.components`, which writes the results into the run folder. Each
renderer takes only ports and paths, so its output is stable and can be hashed to tell whether a
running process was started with the same configuration.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from pathlib import Path

import yaml

ADMIN_USER = "gavel-admin"
"""The stack's administrator: in ``system:masters``, authenticated by a static token."""


def kafka_cluster_id() -> str:
    """A fresh KRaft cluster id: URL-safe base64 of 16 random bytes, no padding, no leading '-'."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def kafka_server_properties(
    broker_port: int,
    controller_port: int,
    data_dir: Path,
    pods: tuple[str, int] | None = None,
    security: Mapping[str, str] | None = None,
) -> str:
    """A single-node KRaft broker+controller on loopback, every internal topic at RF 1.

    ``pods``: (host address of the region's real node, port) of a second listener, also on
    loopback but advertised at that address, for clients in pods (the host forwards the
    address to loopback; a client told 127.0.0.1 would dial its own pod).
    ``security``: the SASL and ACL settings of :func:`gavel_devstack.kafka_security.
    broker_properties`; every listener then runs SASL_PLAINTEXT (loopback only)."""
    proto = "PLAINTEXT" if security is None else "SASL_PLAINTEXT"
    listeners = f"CLIENT://127.0.0.1:{broker_port},CONTROLLER://127.0.0.1:{controller_port}"
    advertised = f"CLIENT://127.0.0.1:{broker_port}"
    protocols = f"CLIENT:{proto},CONTROLLER:{proto}"
    if pods is not None:
        host, port = pods
        listeners += f",PODS://127.0.0.1:{port}"
        advertised += f",PODS://{host}:{port}"
        protocols += f",PODS:{proto}"
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": listeners,
        "advertised.listeners": advertised,
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "CLIENT",
        "listener.security.protocol.map": protocols,
        "log.dirs": str(data_dir),
        "num.partitions": "3",
        # Topics are created on purpose (gavel.topics), never by a typo in a producer.
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "6",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "log.segment.bytes": str(64 * 1024 * 1024),
        **(security or {}),
    }
    return "".join(f"{k}={v}\n" for k, v in (props | KAFKA_IDLE_TIMERS).items())


KAFKA_IDLE_TIMERS: dict[str, str] = {
    # The active controller appends a no-op record to the metadata log every 500 ms by default,
    # so the metadata log's readers see it alive; with one controller in the same process it
    # only costs an append, a raft round and a broker metadata fetch per tick.
    "metadata.max.idle.interval.ms": "5000",
}
"""Broker and controller timers that only tick when idle, kept apart from the listeners and
security settings above so each can change alone (docs/performance.md, "Idle cost")."""


def log4j2_properties(level: str = "INFO") -> str:
    """Log4j 2 config for Kafka and MirrorMaker: one console appender, which the log file gets."""
    return (
        "status = warn\n"
        "appender.console.type = Console\n"
        "appender.console.name = STDOUT\n"
        "appender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = [%d] %p %m (%c)%n\n"
        f"rootLogger.level = {level}\n"
        "rootLogger.appenderRef.stdout.ref = STDOUT\n"
        # The request logger is chatty at INFO and says nothing a developer needs here.
        "logger.request.name = kafka.request.logger\n"
        "logger.request.level = WARN\n"
    )


def cassandra_yaml(
    native_port: int, storage_port: int, data_dir: Path, cluster_name: str = "gavel-dev"
) -> str:
    """A one-node Cassandra 5.0 on loopback, sized for a 1 GB heap on a small machine."""
    conf = {
        "cluster_name": cluster_name,
        "num_tokens": 8,
        "partitioner": "org.apache.cassandra.dht.Murmur3Partitioner",
        # SimpleSnitch names the one data centre "datacenter1"; the audit keyspace's
        # NetworkTopologyStrategy is given that name locally (see CASSANDRA_DC in `stack env`).
        "endpoint_snitch": "SimpleSnitch",
        "commitlog_sync": "periodic",
        "commitlog_sync_period": "10000ms",
        "seed_provider": [
            {
                "class_name": "org.apache.cassandra.locator.SimpleSeedProvider",
                "parameters": [{"seeds": f"127.0.0.1:{storage_port}"}],
            }
        ],
        "listen_address": "127.0.0.1",
        "rpc_address": "127.0.0.1",
        "storage_port": storage_port,
        "native_transport_port": native_port,
        "start_native_transport": True,
        "data_file_directories": [str(data_dir / "data")],
        "commitlog_directory": str(data_dir / "commitlog"),
        "saved_caches_directory": str(data_dir / "saved_caches"),
        "hints_directory": str(data_dir / "hints"),
        "cdc_raw_directory": str(data_dir / "cdc_raw"),
        "memtable_heap_space": "64MiB",
        "memtable_offheap_space": "64MiB",
        "concurrent_compactors": 1,
        "auto_snapshot": False,
        "snapshot_on_duplicate_row_detection": False,
        # Logins and rights, as in production (gavel_devstack.cassandra_security makes the
        # roles). A login is checked with bcrypt, tens of ms of CPU: the credentials cache
        # keeps a checked one for a minute, as the many short-lived test clients log in again
        # and again. Rights stay cached 2 s (the default), so a grant takes effect quickly.
        "authenticator": "PasswordAuthenticator",
        "authorizer": "CassandraAuthorizer",
        "role_manager": "CassandraRoleManager",
        "credentials_validity": "60000ms",
        "credentials_update_interval": "10000ms",
    }
    return yaml.safe_dump(conf, sort_keys=False)


def logback_xml(level: str = "INFO") -> str:
    """Logback config for Cassandra: everything to stdout, which the log file gets."""
    return (
        "<configuration>\n"
        '  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">\n'
        "    <encoder><pattern>%d %-5level [%thread] %logger{20}: %msg%n</pattern></encoder>\n"
        "  </appender>\n"
        f'  <root level="{level}"><appender-ref ref="STDOUT"/></root>\n'
        "</configuration>\n"
    )


def token_auth_csv(admin_token: str) -> str:
    """``--token-auth-file`` line for the stack's administrator (token,user,uid,"groups")."""
    return f'{admin_token},{ADMIN_USER},{ADMIN_USER},"system:masters"\n'


def kubeconfig(
    cluster: str, apiserver_port: int, token: str, ca_file: Path, *, host: str = "127.0.0.1"
) -> str:
    """A kubeconfig for one local API server.

    ``ca_file`` is the bundle kube-apiserver writes into its ``--cert-dir`` on first start (its
    self-signed CA and serving certificate for 127.0.0.1), so clients verify TLS for real.
    ``host``: another address that leads to the API server (a real node's host address, which
    forwards to loopback); the certificate is still checked for 127.0.0.1.
    """
    server: dict[str, str] = {
        "server": f"https://{host}:{apiserver_port}",
        "certificate-authority": str(ca_file),
    }
    if host != "127.0.0.1":
        server["tls-server-name"] = "127.0.0.1"
    conf = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": server}],
        "users": [{"name": ADMIN_USER, "user": {"token": token}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": ADMIN_USER}}],
        "current-context": cluster,
    }
    return json.dumps(conf, indent=2) + "\n"


Stage = dict[str, object]


def _stage(name: str, kind: str, match: list[dict[str, object]], then: dict[str, object]) -> Stage:
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": name},
        "spec": {
            "resourceRef": {"apiGroup": "v1", "kind": kind},
            "selector": {"matchExpressions": match},
            "next": then,
        },
    }


_NODE_READY = """\
{{ $now := Now }}
conditions:
- type: Ready
  status: "True"
  reason: KwokReady
  message: a fake node of the local stack
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
addresses:
- type: InternalIP
  address: {{ NodeIP | Quote }}
phase: Running
"""

_POD_RUNNING = """\
{{ $now := Now }}
phase: Running
startTime: {{ $now | Quote }}
conditions:
{{ range list "PodScheduled" "Initialized" "ContainersReady" "Ready" }}
- type: {{ . }}
  status: "True"
  lastTransitionTime: {{ $now | Quote }}
{{ end }}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  ready: true
  started: true
  restartCount: 0
  state:
    running:
      startedAt: {{ $now | Quote }}
{{ end }}
hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
podIP: {{ PodIPWith .spec.nodeName false .metadata.uid .metadata.name .metadata.namespace | Quote }}
"""


def kwok_stages() -> str:
    """KWOK's configuration: how its fake nodes and their pods move through their lives.

    Three stages, no more than the local clusters need: a fake node reports Ready with its
    address; a scheduled pod becomes Running with every container ready (nothing runs); a
    pod being deleted goes at once. KWOK renews the nodes' leases itself
    (``--node-lease-duration-seconds``), so the node lifecycle controller never evicts."""
    not_ready = '.status.conditions.[] | select( .type == "Ready" ) | .status'
    stages = [
        _stage(
            "gavel-node-ready",
            "Node",
            [{"key": not_ready, "operator": "NotIn", "values": ["True"]}],
            {"statusTemplate": _NODE_READY},
        ),
        _stage(
            "gavel-pod-running",
            "Pod",
            [
                {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
                {"key": ".spec.nodeName", "operator": "Exists"},
                {"key": ".status.phase", "operator": "In", "values": ["Pending"]},
            ],
            {"statusTemplate": _POD_RUNNING},
        ),
        _stage(
            "gavel-pod-delete",
            "Pod",
            [{"key": ".metadata.deletionTimestamp", "operator": "Exists"}],
            {"delete": True},
        ),
    ]
    return "---\n".join(json.dumps(stage, indent=2) + "\n" for stage in stages)
