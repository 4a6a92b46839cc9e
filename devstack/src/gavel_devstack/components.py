"""What the local stack runs: one :class:`Component` per server process, built from the layout.

Pure apart from reading the run folder's secrets: :func:`plan` turns (regions, kinds, ports,
installed artifacts, run folder) into components, each with its argv, the files to write before
it starts, what it waits for and how to tell it is ready. :mod:`gavel_devstack.stack` runs them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from gavel import mirror
from gavel.redis_persistence import REDIS_PERSISTENCE_ARGS
from gavel_devstack import configs, layout, probes
from gavel_devstack.install import Installed

KINDS: tuple[str, ...] = ("redis", "kafka", "mirror", "cassandra", "k8s", "nodes")
"""What ``--only`` accepts. ``k8s`` means etcd + kube-apiserver for the hub and every region;
``nodes`` adds to every region kube-controller-manager, kube-scheduler and KWOK with fake nodes,
so Deployments get pods that are scheduled and reported running (no container runs)."""

DEFAULT_KINDS: tuple[str, ...] = tuple(k for k in KINDS if k != "nodes")
"""What ``up`` runs without ``--only``: the workloads' tests need no pods."""

NO_PORT = 0
"""Port of a component that listens on none (MirrorMaker 2 only connects out)."""

SHARED = "shared"
"""Region column of components that serve every region (Cassandra)."""


@dataclass(slots=True)
class Component:
    """One server process of the stack and everything needed to start and check it."""

    kind: str
    region: str
    port: int
    argv: list[str]
    probe: Callable[[], bool]
    timeout_s: float
    files: dict[Path, str] = field(default_factory=dict)
    after: tuple[str, ...] = ()
    prepare: Callable[[], None] | None = None
    when_ready: Callable[[], None] | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.region}"

    @property
    def log_name(self) -> str:
        return f"{self.kind}-{self.region}.log"

    def fingerprint(self) -> str:
        """Hash of what the process was started with; a change means it must restart."""
        h = hashlib.sha256("\0".join(self.argv).encode())
        for path in sorted(self.files):
            h.update(str(path).encode() + b"\0" + self.files[path].encode())
        return h.hexdigest()[:16]


def _secret(path: Path, make: Callable[[], str]) -> str:
    """Read a stack secret, creating it on first use; it lives only in the run folder."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def admin_token(run_dir: Path) -> str:
    return _secret(run_dir / "k8s" / "admin-token", lambda: secrets.token_urlsafe(32))


def jwt_secret(run_dir: Path) -> str:
    """The stack's bidder-token signing secret, so gateways and `gavel token mint` agree."""
    return _secret(run_dir / "gateway" / "jwt-secret", lambda: secrets.token_urlsafe(48))


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


def kubeconfig_path(run_dir: Path, cluster: str) -> Path:
    return run_dir / "k8s" / f"kubeconfig-{cluster}"


def _java(inst: Installed, heap: str, *args: str) -> list[str]:
    return [
        str(inst.java),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        *args,
    ]


def _redis(inst: Installed, run_dir: Path, region: str, ports: layout.RegionPorts) -> Component:
    data = run_dir / f"redis-{region}"
    argv = [
        str(inst.redis_server),
        "--port",
        str(ports.redis),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data),
        *REDIS_PERSISTENCE_ARGS,
        "--daemonize",
        "no",
        "--logfile",
        "",
    ]
    return Component(
        "redis",
        region,
        ports.redis,
        argv,
        partial(probes.redis_ready, ports.redis),
        timeout_s=30,
        files={data / ".keep": ""},
    )


def _kafka(inst: Installed, run_dir: Path, region: str, ports: layout.RegionPorts) -> Component:
    home = run_dir / f"kafka-{region}"
    props, log4j = home / "server.properties", home / "log4j2.properties"
    classpath = f"{inst.kafka_lib}/*"
    log_flag = f"-Dlog4j2.configurationFile=file:{log4j}"
    argv = _java(inst, "384m", log_flag, "-cp", classpath, "kafka.Kafka", str(props))
    bootstrap = f"127.0.0.1:{ports.kafka}"

    def format_storage() -> None:
        if (home / "data" / "meta.properties").exists():
            return
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
        )
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"kafka storage format failed:\n{out.stdout}{out.stderr}")

    return Component(
        "kafka",
        region,
        ports.kafka,
        argv,
        partial(probes.kafka_ready, bootstrap),
        timeout_s=120,
        files={
            props: configs.kafka_server_properties(
                ports.kafka, ports.kafka_controller, home / "data"
            ),
            log4j: configs.log4j2_properties(),
        },
        prepare=format_storage,
        when_ready=partial(probes.ensure_topics, bootstrap),
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
    text = mirror.render_mirrormaker_config(region, bootstraps, mirror_settings())
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
    )
    sources = [r for r in regions if r != region]
    return Component(
        "mirror",
        region,
        NO_PORT,
        argv,
        partial(probes.mirror_ready, bootstraps[region], sources),
        timeout_s=180,
        files={props: text, log4j: configs.log4j2_properties()},
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
        "-Dio.netty.tryReflectionSetAccessible=true",
        f"-Dcassandra.config=file://{conf}",
        f"-Dcassandra.storagedir={home}",
        f"-Dcassandra.logdir={home / 'logs'}",
        "-Dcassandra-foreground=yes",
        f"-Dcassandra.jmx.local.port={ports.cassandra_jmx}",
        "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        "-Dcassandra.ring_delay_ms=100",
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
        partial(probes.cassandra_ready, ports.cassandra_native),
        timeout_s=240,
        files={
            conf: configs.cassandra_yaml(ports.cassandra_native, ports.cassandra_storage, home),
            logback: configs.logback_xml(),
        },
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


def _control_plane(
    inst: Installed, run_dir: Path, cluster: str, ports: layout.ClusterPorts
) -> list[Component]:
    home = run_dir / "k8s" / cluster
    peer = f"http://127.0.0.1:{ports.etcd_peer}"
    client = f"http://127.0.0.1:{ports.etcd_client}"
    etcd = Component(
        "etcd",
        cluster,
        ports.etcd_client,
        [
            str(inst.k8s_bin / "etcd"),
            "--name",
            cluster,
            "--data-dir",
            str(home / "etcd"),
            "--listen-client-urls",
            client,
            "--advertise-client-urls",
            client,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            f"{cluster}={peer}",
            "--unsafe-no-fsync",
            "--quota-backend-bytes",
            str(512 * 1024 * 1024),
            "--log-level",
            "warn",
        ],
        partial(probes.etcd_ready, ports.etcd_client),
        timeout_s=60,
        files={home / "etcd" / ".keep": ""},
    )
    token = admin_token(run_dir)
    key, pub = _service_account_key(run_dir)
    tokens = home / "tokens.csv"
    apiserver = Component(
        "apiserver",
        cluster,
        ports.apiserver,
        [
            str(inst.k8s_bin / "kube-apiserver"),
            f"--etcd-servers={client}",
            f"--cert-dir={home / 'certs'}",
            f"--secure-port={ports.apiserver}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--allow-privileged=true",
            "--authorization-mode=RBAC",
            "--disable-admission-plugins=ServiceAccount",
            "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={pub}",
            f"--service-account-signing-key-file={key}",
            f"--token-auth-file={tokens}",
            "--enable-priority-and-fairness=false",
            "--profiling=false",
            "--v=1",
        ],
        partial(probes.apiserver_ready, ports.apiserver, token),
        timeout_s=120,
        files={
            tokens: configs.token_auth_csv(token),
            kubeconfig_path(run_dir, cluster): configs.kubeconfig(
                cluster, ports.apiserver, token, home / "certs" / "apiserver.crt"
            ),
        },
        after=(etcd.key,),
    )
    return [etcd, apiserver]


def _nodes(
    inst: Installed, run_dir: Path, region: str, ports: layout.RegionPorts
) -> list[Component]:
    """What runs a region's pods without a kubelet: the controllers (Deployments make pods,
    HPAs scale them), the scheduler (pods go to nodes) and KWOK (fake nodes report them
    running)."""
    home = run_dir / "k8s" / region
    kubeconfig = str(kubeconfig_path(run_dir, region))
    token = admin_token(run_dir)
    key, _ = _service_account_key(run_dir)
    apiserver = f"apiserver/{region}"
    controllers = Component(
        "controllers",
        region,
        NO_PORT,
        [
            str(inst.nodes_bin / "kube-controller-manager"),
            f"--kubeconfig={kubeconfig}",
            "--secure-port=0",
            "--leader-elect=false",
            f"--service-account-private-key-file={key}",
            f"--root-ca-file={home / 'certs' / 'apiserver.crt'}",
            "--use-service-account-credentials=false",
            "--horizontal-pod-autoscaler-sync-period=5s",
            "--v=1",
        ],
        # The service-account controller gives every namespace its "default" account.
        partial(
            probes.api_object_exists,
            ports.k8s.apiserver,
            token,
            "/api/v1/namespaces/default/serviceaccounts/default",
        ),
        timeout_s=60,
        after=(apiserver,),
    )
    scheduler = Component(
        "scheduler",
        region,
        ports.scheduler,
        [
            str(inst.nodes_bin / "kube-scheduler"),
            f"--kubeconfig={kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports.scheduler}",
            "--v=1",
        ],
        partial(probes.healthz, f"https://127.0.0.1:{ports.scheduler}/healthz"),
        timeout_s=60,
        after=(apiserver,),
    )
    kwok = Component(
        "kwok",
        region,
        ports.kwok,
        [
            str(inst.nodes_bin / "kwok"),
            f"--kubeconfig={kubeconfig}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--server-address=127.0.0.1:{ports.kwok}",
            "--cidr=10.244.0.0/16",
            "--node-ip=127.0.0.1",
            "--node-lease-duration-seconds=40",
            f"--config={home / 'kwok.yaml'}",
        ],
        partial(probes.healthz, f"http://127.0.0.1:{ports.kwok}/healthz"),
        timeout_s=60,
        files={home / "kwok.yaml": configs.kwok_stages()},
        after=(apiserver,),
        when_ready=partial(probes.ensure_fake_nodes, ports.k8s.apiserver, token),
    )
    return [controllers, scheduler, kwok]


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
    if "mirror" in kinds:
        kinds = kinds | {"kafka"}
    comps: list[Component] = []
    for region in regions:
        rp = ports.regions[region]
        if "redis" in kinds:
            comps.append(_redis(inst, run_dir, region, rp))
        if "kafka" in kinds:
            comps.append(_kafka(inst, run_dir, region, rp))
    if "mirror" in kinds and len(regions) > 1:
        comps += [_mirror(inst, run_dir, r, regions, ports) for r in regions]
    if "cassandra" in kinds:
        comps.append(_cassandra(inst, run_dir, ports))
    if "k8s" in kinds:
        comps += _control_plane(inst, run_dir, layout.HUB, ports.hub)
        for region in regions:
            comps += _control_plane(inst, run_dir, region, ports.regions[region].k8s)
    if "nodes" in kinds:
        if "k8s" not in kinds:
            raise ValueError("nodes need k8s: --only k8s,nodes")
        for region in regions:
            comps += _nodes(inst, run_dir, region, ports.regions[region])
    return comps
