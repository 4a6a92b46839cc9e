"""MirrorMaker 2 configuration for one region: a pure renderer.

One MirrorMaker 2 process runs in every region and *pulls* ``gavel.price`` from every other
region into its own Kafka, where the copies arrive as ``<source>.gavel.price``. The operator puts
this renderer's output into a ConfigMap; the repository's local stack writes it to a file. Both
start MirrorMaker with ``--clusters <target>`` so a process only runs the flows that end in its
own region.

Settings chosen for latency (see docs/mirrormaker.md for the measurements behind them):
``linger.ms=0`` on the target producer (Kafka 4 made the default 5 ms), Kafka's default
``fetch.max.wait.ms`` (500 ms) on the source consumer with ``fetch.min.bytes=1`` (a waiting
fetch is answered as soon as a record arrives, so the wait costs no latency, while a short one
made every idle flow a poll loop), and a 5 s topic refresh so a topic created after start is
mirrored promptly instead of after the 10 minute default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gavel import kafka_auth, topics

USERNAME_KEY = "username"
PASSWORD_KEY = "password"  # noqa: S105 - a key name, not a secret
"""Files (a mounted Secret's keys) of MirrorMaker's credential directory."""


@dataclass(frozen=True, slots=True)
class MirrorSettings:
    """Knobs that differ between a laptop and production; the defaults suit production."""

    replication_factor: int = 3
    tasks_max: int = 1
    refresh_topics_interval_s: int = 5
    source_fetch_max_wait_ms: int = 500
    source_fetch_min_bytes: int = 1
    target_linger_ms: int = 0


@dataclass(frozen=True, slots=True)
class MirrorAuth:
    """MirrorMaker's Kafka user, the same in every region it connects to.

    The credential never enters the rendered text: ``credential_dir`` holds the files
    ``username`` and ``password`` (a mounted Secret in a pod), read by Kafka's
    DirectoryConfigProvider when MirrorMaker starts.
    ``ca_file``: PEM of the CA that signed the brokers' certificates; with it the clients use
    SASL_SSL (connections that leave a host), without it SASL_PLAINTEXT (loopback)."""

    credential_dir: str
    ca_file: str | None = None

    @property
    def protocol(self) -> str:
        return kafka_auth.SASL_SSL if self.ca_file else kafka_auth.SASL_PLAINTEXT

    def client_properties(self) -> dict[str, str]:
        """Client settings for one cluster (prefixed with the cluster's alias by the caller)."""
        username = f"${{directory:{self.credential_dir}:{USERNAME_KEY}}}"
        password = f"${{directory:{self.credential_dir}:{PASSWORD_KEY}}}"
        props = {
            "security.protocol": self.protocol,
            "sasl.mechanism": kafka_auth.MECHANISM,
            "sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="{username}" password="{password}";'
            ),
        }
        if self.ca_file:
            props["ssl.truststore.type"] = "PEM"
            props["ssl.truststore.location"] = self.ca_file
        return props


def render_mirrormaker_config(
    target: str,
    bootstrap_servers: Mapping[str, str],
    settings: MirrorSettings = MirrorSettings(),
    mirrored_topics: Sequence[str] = (topics.PRICE,),
    auth: MirrorAuth | None = None,
) -> str:
    """Render ``mm2.properties`` for the MirrorMaker 2 process of region ``target``.

    ``bootstrap_servers`` maps every region (the target included) to its Kafka bootstrap list.
    ``auth``: MirrorMaker's Kafka user in every cluster; None for Kafka without
    authentication. Returns the file's text, keys sorted so the output is stable (it is
    hashed to decide whether a running process needs a restart).
    """
    if target not in bootstrap_servers:
        raise ValueError(f"target region {target!r} has no bootstrap servers")
    sources = sorted(r for r in bootstrap_servers if r != target)
    rf = str(settings.replication_factor)
    props: dict[str, str] = {
        "clusters": ", ".join(sorted(bootstrap_servers)),
        "replication.factor": rf,
        "checkpoints.topic.replication.factor": rf,
        "heartbeats.topic.replication.factor": rf,
        "offset-syncs.topic.replication.factor": rf,
        "offset.storage.replication.factor": rf,
        "status.storage.replication.factor": rf,
        "config.storage.replication.factor": rf,
        # Heartbeats would start a reverse flow per pair; checkpoints and group-offset sync
        # translate consumer offsets for fail-over, which fan-outs (latest-wins readers) never do.
        "emit.heartbeats.enabled": "false",
        "emit.checkpoints.enabled": "false",
        "sync.group.offsets.enabled": "false",
        # Keep MirrorMaker's own bookkeeping in the region that runs it.
        "offset-syncs.topic.location": "target",
        "refresh.topics.interval.seconds": str(settings.refresh_topics_interval_s),
        "tasks.max": str(settings.tasks_max),
        f"{target}.producer.linger.ms": str(settings.target_linger_ms),
        f"{target}.producer.acks": "all",
        f"{target}.producer.enable.idempotence": "true",
    }
    pattern = "|".join(re.escape(t) for t in mirrored_topics)
    for region in sorted(bootstrap_servers):
        props[f"{region}.bootstrap.servers"] = bootstrap_servers[region]
    if auth is not None:
        # Copying ACLs needs rights over every cluster's ACLs; each region sets its own.
        props["sync.topic.acls.enabled"] = "false"
        props["config.providers"] = "directory"
        props["config.providers.directory.class"] = (
            "org.apache.kafka.common.config.provider.DirectoryConfigProvider"
        )
        for region in sorted(bootstrap_servers):
            for key, value in auth.client_properties().items():
                props[f"{region}.{key}"] = value
    for source in sources:
        flow = f"{source}->{target}"
        props[f"{flow}.enabled"] = "true"
        props[f"{flow}.topics"] = pattern
        props[f"{source}.consumer.fetch.max.wait.ms"] = str(settings.source_fetch_max_wait_ms)
        props[f"{source}.consumer.fetch.min.bytes"] = str(settings.source_fetch_min_bytes)
    header = f"# MirrorMaker 2 for region {target}: pulls {pattern} from {', '.join(sources)}\n"
    return header + "".join(f"{k} = {v}\n" for k, v in sorted(props.items()))
