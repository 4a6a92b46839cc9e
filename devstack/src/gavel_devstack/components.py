"""What the local stack runs: one :class:`~gavel_devstack.component.Component` per server
process, built from the layout.

Pure apart from reading the run folder's secrets: :func:`plan` turns (regions, kinds, ports,
installed artifacts, run folder) into components, each with its argv, the files to write before
it starts, what it waits for and how to tell it is ready. Kafka, MirrorMaker 2 and Cassandra
are built here; a region's Redis by :mod:`gavel_devstack.components_redis`, the token issuer by
:mod:`gavel_devstack.components_issuer`, the Kubernetes clusters by
:mod:`gavel_devstack.clusters` with the credentials made here. :mod:`gavel_devstack.stack` runs
them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
from collections.abc import Callable
from functools import partial
from pathlib import Path

from gavel import kafka_auth, mirror
from gavel.audit.settings import DEFAULT_GROUP as DEFAULT_AUDIT_GROUP
from gavel_devstack import (
    cassandra_security,
    clusters,
    components_issuer,
    components_redis,
    configs,
    kafka_security,
    layout,
    node_config,
    probes,
    real_nodes,
)
from gavel_devstack.component import NO_PORT, SHARED, Component
from gavel_devstack.install import Installed

KINDS: tuple[str, ...] = ("redis", "kafka", "mirror", "cassandra", "k8s", "nodes", "kubelet")
"""What ``--only`` accepts. ``k8s`` means etcd + kube-apiserver for the hub and every region;
``nodes`` adds to every region kube-controller-manager, kube-scheduler and KWOK with fake nodes,
so Deployments get pods that are scheduled and reported running (no container runs);
``kubelet`` gives every region one real node (containerd + kubelet) whose pods really run."""

DEFAULT_KINDS: tuple[str, ...] = tuple(k for k in KINDS if k not in {"nodes", "kubelet"})
"""What ``up`` runs without ``--only``: the workloads' tests need no pods."""


def _secret(path: Path, make: Callable[[], str]) -> str:
    """Read a stack secret, creating it on first use; it lives only in the run folder."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def admin_token(run_dir: Path) -> str:
    return _secret(run_dir / "k8s" / "admin-token", lambda: secrets.token_urlsafe(32))


def _service_account_key(run_dir: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415

    key_path, pub_path = run_dir / "k8s" / "sa.key", run_dir / "k8s" / "sa.pub"
    if not key_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pub_path.parent.mkdir(parents=True, exist_ok=True)
        pub_path.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_path.chmod(0o600)
    return key_path, pub_path


def _cluster_credentials(run_dir: Path) -> clusters.Credentials:
    key, pub = _service_account_key(run_dir)
    return clusters.Credentials(admin_token(run_dir), key, pub)


def kubeconfig_path(run_dir: Path, cluster: str) -> Path:
    return run_dir / "k8s" / f"kubeconfig-{cluster}"


JVM_IDLE_FLAGS: tuple[str, ...] = (
    # The hsperfdata sampler wakes every 50 ms in every JVM to update counters only jstat reads.
    "-XX:-UsePerfData",
)
"""JVM flags every server of the stack gets for a cheap idle (docs/performance.md, "Idle
cost"); the collector is chosen per server (:func:`_java`)."""

SMALL_HEAP_GC = "-XX:+UseSerialGC"
"""Kafka and MirrorMaker: a few hundred MB of heap, collected in milliseconds by one thread;
G1's concurrent and service threads only add wake-ups on a 2-core machine."""


def _java(inst: Installed, heap: str, *args: str, gc: str = "-XX:+UseG1GC") -> list[str]:
    return [
        str(inst.java),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        gc,
        *JVM_IDLE_FLAGS,
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        *args,
    ]


def _kafka(
    inst: Installed,
    run_dir: Path,
    region: str,
    regions: tuple[str, ...],
    ports: layout.RegionPorts,
    *,
    block: int,
) -> Component:
    home = run_dir / f"kafka-{region}"
    pods = None
    if ports.kafka_pods is not None:
        pods = (node_config.node_net(block, region).host_ip, ports.kafka_pods)
    props, log4j = home / "server.properties", home / "log4j2.properties"
    classpath = f"{inst.kafka_lib}/*"
    log_flag = f"-Dlog4j2.configurationFile=file:{log4j}"
    argv = _java(
        inst, "384m", log_flag, "-cp", classpath, "kafka.Kafka", str(props), gc=SMALL_HEAP_GC
    )
    bootstrap = f"127.0.0.1:{ports.kafka}"
    admin = kafka_security.auth(run_dir, kafka_auth.ADMIN)
    security = kafka_security.broker_properties(
        admin.password, ["CLIENT"] + (["PODS"] if pods else [])
    )
    users_marker = home / "data" / "gavel-scram-users"

    def format_storage() -> None:
        # The SCRAM users go into the storage when it is formatted; a storage formatted with
        # other users (or none, before authentication) is made again: its topics are recreated.
        digest = kafka_security.users_digest(run_dir)
        if (home / "data" / "meta.properties").exists():
            if users_marker.exists() and users_marker.read_text() == digest:
                return
            shutil.rmtree(home / "data")
        import subprocess  # noqa: PLC0415

        cmd = _java(
            inst,
            "256m",
            log_flag,
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            configs.kafka_cluster_id(),
            "-c",
            str(props),
            *kafka_security.scram_format_args(run_dir),
        )
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"kafka storage format failed:\n{out.stdout}{out.stderr}")
        users_marker.write_text(digest)

    def when_ready() -> None:
        probes.ensure_topics(bootstrap, auth=admin)
        kafka_security.apply_acls(run_dir, bootstrap, region, regions, DEFAULT_AUDIT_GROUP)

    return Component(
        "kafka",
        region,
        ports.kafka,
        argv,
        partial(probes.kafka_ready, bootstrap, auth=admin),
        timeout_s=120,
        files={
            props: configs.kafka_server_properties(
                ports.kafka, ports.kafka_controller, home / "data", pods, security
            ),
            log4j: configs.log4j2_properties(),
        },
        prepare=format_storage,
        when_ready=when_ready,
    )


def mirror_settings() -> mirror.MirrorSettings:
    """MirrorMaker 2 settings of the local stack: production's, at replication factor 1.

    ``$GAVEL_MIRROR_SETTINGS`` (JSON of MirrorSettings fields) overrides them, to measure the
    latency knobs (docs/mirrormaker.md); a changed value restarts the MirrorMaker processes.
    """
    overrides = json.loads(os.environ.get("GAVEL_MIRROR_SETTINGS", "{}"))
    return dataclasses.replace(mirror.MirrorSettings(replication_factor=1), **overrides)


def _mirror(
    inst: Installed,
    run_dir: Path,
    region: str,
    regions: tuple[str, ...],
    all_ports: layout.StackPorts,
) -> Component:
    home = run_dir / f"mirror-{region}"
    props, log4j = home / "mm2.properties", home / "log4j2.properties"
    bootstraps = {r: f"127.0.0.1:{all_ports.regions[r].kafka}" for r in regions}
    # MirrorMaker reads its credential from files of the run folder through Kafka's
    # DirectoryConfigProvider, the way a pod reads a mounted Secret.
    secret = home / "kafka-credential"
    creds = kafka_security.auth(run_dir, kafka_auth.MIRROR)
    auth = mirror.MirrorAuth(credential_dir=str(secret))
    text = mirror.render_mirrormaker_config(region, bootstraps, mirror_settings(), auth=auth)
    # C1 only: MirrorMaker's start (one Connect worker per flow) is JIT-bound on small machines,
    # and its steady state, forwarding a few records per second, never needs C2.
    argv = _java(
        inst,
        "256m",
        "-XX:TieredStopAtLevel=1",
        f"-Dlog4j2.configurationFile=file:{log4j}",
        "-cp",
        f"{inst.kafka_lib}/*",
        "org.apache.kafka.connect.mirror.MirrorMaker",
        str(props),
        "--clusters",
        region,
        gc=SMALL_HEAP_GC,
    )
    sources = [r for r in regions if r != region]
    return Component(
        "mirror",
        region,
        NO_PORT,
        argv,
        partial(
            probes.mirror_ready,
            bootstraps[region],
            sources,
            auth=kafka_security.auth(run_dir, kafka_auth.ADMIN),
        ),
        timeout_s=180,
        files={
            props: text,
            log4j: configs.log4j2_properties(),
            secret / mirror.USERNAME_KEY: creds.username,
            secret / mirror.PASSWORD_KEY: creds.password,
        },
        after=tuple(f"kafka/{r}" for r in regions),
    )


def _cassandra(inst: Installed, run_dir: Path, ports: layout.StackPorts) -> Component:
    home = run_dir / "cassandra"
    conf, logback = home / "conf" / "cassandra.yaml", home / "conf" / "logback.xml"
    # Cassandra sizes its caches with jamm, which must be loaded as an agent.
    agents = [f"-javaagent:{jar}" for jar in sorted(inst.cassandra_lib.glob("jamm-*.jar"))]
    argv = _java(
        inst,
        "1g",
        *agents,
        *_CASSANDRA_JPMS,
        "-XX:+ParallelRefProcEnabled",
        "-XX:MaxTenuringThreshold=1",
        # Its approximate clock is re-read every 2 ms by default, 500 wake-ups a second that
        # were most of its idle CPU; it only serves timeouts counted in seconds.
        "-Dcassandra.approximate_time_precision_ms=20",
        "-Dio.netty.tryReflectionSetAccessible=true",
        f"-Dcassandra.config=file://{conf}",
        f"-Dcassandra.storagedir={home}",
        f"-Dcassandra.logdir={home / 'logs'}",
        "-Dcassandra-foreground=yes",
        f"-Dcassandra.jmx.local.port={ports.cassandra_jmx}",
        "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        "-Dcassandra.ring_delay_ms=100",
        # The built-in superuser is made 10 s after start by default; the stack waits for it.
        "-Dcassandra.superuser_setup_delay_ms=0",
        f"-Dlogback.configurationFile={logback}",
        "-cp",
        f"{home / 'conf'}:{inst.cassandra_lib}/*",
        "org.apache.cassandra.service.CassandraDaemon",
    )
    return Component(
        "cassandra",
        SHARED,
        ports.cassandra_native,
        argv,
        partial(cassandra_security.superuser_can_log_in, ports.cassandra_native, run_dir),
        timeout_s=240,
        files={
            conf: configs.cassandra_yaml(ports.cassandra_native, ports.cassandra_storage, home),
            logback: configs.logback_xml(),
        },
        when_ready=partial(cassandra_security.set_up, ports.cassandra_native, run_dir),
    )


# From Cassandra's conf/jvm17-server.options: the JDK internals it reaches into.
_CASSANDRA_JPMS: tuple[str, ...] = (
    "-Djdk.attach.allowAttachSelf=true",
    *(
        f"--add-exports={m}=ALL-UNNAMED"
        for m in (
            "java.base/jdk.internal.misc",
            "java.management.rmi/com.sun.jmx.remote.internal.rmi",
            "java.rmi/sun.rmi.registry",
            "java.rmi/sun.rmi.server",
            "java.sql/java.sql",
            "java.base/java.lang.ref",
            "jdk.unsupported/sun.misc",
            "jdk.compiler/com.sun.tools.javac.file",
            "jdk.attach/sun.tools.attach",
        )
    ),
    *(
        f"--add-opens={m}=ALL-UNNAMED"
        for m in (
            "java.base/java.lang.module",
            "java.base/jdk.internal.loader",
            "java.base/jdk.internal.ref",
            "java.base/jdk.internal.reflect",
            "java.base/jdk.internal.math",
            "java.base/jdk.internal.module",
            "java.base/jdk.internal.util.jar",
            "jdk.management/com.sun.management.internal",
            "java.base/sun.nio.ch",
            "java.base/java.io",
            "java.base/java.lang.reflect",
            "jdk.compiler/com.sun.tools.javac",
            "java.base/java.lang",
            "java.base/java.util",
        )
    ),
)


def service_cidr(block: int, cluster: str) -> str:
    """A cluster's ClusterIP range: a region's is its real node's, unique per stack and region
    so the host can route it into that node; the hub's is fixed (no node routes it)."""
    if cluster == layout.HUB:
        return clusters.HUB_SERVICE_CIDR
    return node_config.node_net(block, cluster).service_cidr


def plan(
    regions: tuple[str, ...],
    kinds: set[str],
    ports: layout.StackPorts,
    inst: Installed,
    run_dir: Path,
) -> list[Component]:
    """Every component of a stack with ``regions`` running the given ``kinds``."""
    unknown = kinds - set(KINDS)
    if unknown:
        raise ValueError(f"unknown component(s) {sorted(unknown)}; choose from {list(KINDS)}")
    if "nodes" in kinds and "k8s" not in kinds:
        raise ValueError("nodes need k8s: --only k8s,nodes")
    if "kubelet" in kinds and "k8s" not in kinds:
        raise ValueError("kubelet needs k8s: --only k8s,kubelet")
    if "mirror" in kinds:
        kinds = kinds | {"kafka"}
    comps: list[Component] = [components_issuer.issuer_component(run_dir)]
    for region in regions:
        rp = ports.regions[region]
        if "redis" in kinds:
            comps += components_redis.region_redis(inst, run_dir, region, rp)
        if "kafka" in kinds:
            comps.append(_kafka(inst, run_dir, region, regions, rp, block=ports.block))
    if "mirror" in kinds and len(regions) > 1:
        comps += [_mirror(inst, run_dir, r, regions, ports) for r in regions]
    if "cassandra" in kinds:
        comps.append(_cassandra(inst, run_dir, ports))
    if "k8s" in kinds:
        creds = _cluster_credentials(run_dir)
        cluster_ports = {layout.HUB: ports.hub} | {r: ports.regions[r].k8s for r in regions}
        for cluster, cp in cluster_ports.items():
            kubeconfig = kubeconfig_path(run_dir, cluster)
            comps += clusters.control_plane(
                inst,
                run_dir,
                cluster,
                cp,
                creds=creds,
                kubeconfig=kubeconfig,
                service_cidr=service_cidr(ports.block, cluster),
            )
        for region in regions:
            kubeconfig = kubeconfig_path(run_dir, region)
            rp = ports.regions[region]
            if "nodes" in kinds:
                comps += clusters.nodes(
                    inst, run_dir, region, rp, creds=creds, kubeconfig=kubeconfig
                )
            elif "kubelet" in kinds:
                # A real node alone still needs Deployments turned into pods and Services
                # into EndpointSlices (kube-proxy's input).
                comps += clusters.control_loops(
                    inst, run_dir, region, rp, creds=creds, kubeconfig=kubeconfig
                )
            if "kubelet" in kinds:
                comps += real_nodes.real_node(
                    inst,
                    run_dir,
                    region,
                    ports,
                    admin_token=creds.admin_token,
                    kubeconfig=kubeconfig,
                    taint="nodes" in kinds,
                )
    return comps
