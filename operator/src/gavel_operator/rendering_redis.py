"""A region's Redis as Kubernetes objects: a primary, its replicas and three Sentinels. Pure.

Called by :func:`gavel_operator.rendering.render_region`. With ``spec.redis.replicas: 0`` a
region runs one Redis server (StatefulSet of one, headless Service) and its workloads reach it
at ``redis://``. Otherwise:

- ``gavel-redis``: a StatefulSet of ``1 + replicas`` data nodes, each with its own volume,
  behind a headless Service that publishes pods before they are ready (replicas find a primary
  that is still loading). Every node starts through ``scripts/redis-node.sh``, which asks the
  Sentinels which node is primary and follows it; only on the region's very first start (no
  Sentinel and no node knows a primary) does node 0 become primary. No node decides alone to
  be primary while Sentinels know another, and a restarted primary waits for the failover
  rather than feeding replicas a dataset that may lack its last acknowledged second.
- ``gavel-redis-sentinel``: three Sentinels (a StatefulSet for stable names) with quorum 2,
  headless Service; ``scripts/redis-sentinel.sh`` writes each one's configuration on first
  start from what its peers or the data nodes say.
- ConfigMap ``gavel-redis-scripts`` with both scripts and what they share; a
  PodDisruptionBudget for the data nodes and one for the Sentinels (one pod at a time: the
  quorum survives a drain); pods spread over nodes (required) and zones (preferred); startup,
  readiness and liveness probes.

The workloads of the region get :func:`redis_url`: the Sentinels, by their per-pod names.
Every data node runs with the persistence flags of :mod:`gavel.redis_persistence` and with
:func:`replication_args`.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from gavel import endpoints
from gavel.redis_acl import Role
from gavel.redis_persistence import REDIS_PERSISTENCE_ARGS
from gavel.redis_replication import REDIS_REPLICATION_ARGS, SENTINEL_QUORUM
from gavel.resources.region import CaSecret
from gavel_operator.rendering_parts import Obj, labels, meta, mount_secret_where, pdb, service

REDIS_PORT, SENTINEL_PORT = 6379, 26379
MASTER = "gavel"
"""The name the Sentinels monitor the region's primary under (the URL's SERVICE)."""
SENTINELS, QUORUM = 3, SENTINEL_QUORUM
"""Three Sentinels, two of which must agree that the primary is down: a majority, so one
Sentinel may be lost or cut off and a minority can never promote a second primary."""
DOWN_AFTER_MS = 5000
"""How long the primary must not answer before a Sentinel calls it down."""
FAILOVER_TIMEOUT_MS = 10_000
"""Sentinel's failover-timeout: a failed failover is retried after twice this."""
# gavel.redis_replication.MIN_REPLICAS_MAX_LAG_S (2 s): cut off from its replicas, a primary
# stops taking bids about 3 s later (measured 2.8-3.1 s; the lag counts whole seconds and is
# recounted once a second), before the Sentinels' DOWN_AFTER_MS lets them promote another, so
# two primaries never accept bids at once in a cluster.
DATA_VOLUME, DATA_DIR = "10Gi", "/data"
"""Each data node's volume, and where data nodes and Sentinels keep their files."""


def replication_args(replicas: int) -> tuple[str, ...]:
    """The flags a data node adds to the persistence flags (none for a single server: with no
    replica to wait for it must keep writing)."""
    if replicas == 0:
        return ()
    return REDIS_REPLICATION_ARGS


def _host(statefulset: str, ordinal: int, ns: str) -> str:
    # The headless Service is named like its StatefulSet.
    return f"{statefulset}-{ordinal}.{statefulset}.{ns}.svc"


def sentinel_hosts(ns: str) -> list[str]:
    """``host:port`` of each Sentinel of the region in namespace ``ns``."""
    return [f"{_host('gavel-redis-sentinel', i, ns)}:{SENTINEL_PORT}" for i in range(SENTINELS)]


def redis_url(ns: str, replicas: int) -> str:
    """How the region's own workloads reach its Redis (the ``REDIS_URL_<R>`` they get)."""
    if replicas == 0:
        return f"redis://gavel-redis.{ns}.svc:{REDIS_PORT}/0"
    return f"redis+sentinel://{','.join(sentinel_hosts(ns))}/{MASTER}/0"


SCRIPTS = ("redis-common.sh", "redis-node.sh", "redis-sentinel.sh")
"""The start scripts (and what both source), mounted at /scripts."""


@cache
def script(name: str) -> str:
    """A start script shipped in ``gavel_operator/scripts/``."""
    return (resources.files("gavel_operator") / "scripts" / name).read_text()


def _exec(command: str, period_s: int, failures: int) -> Obj:
    return {
        "exec": {"command": ["sh", "-c", command]},
        "periodSeconds": period_s,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def _probes(port: int, ready: str) -> Obj:
    alive = f"redis-cli -p {port} ping | grep -Eq 'PONG|LOADING'"
    return {
        # Up to 10 minutes to start: a node waits for a failover, or loads a large AOF.
        "startupProbe": _exec(alive, 2, 300),
        "readinessProbe": _exec(ready, 2, 2),
        "livenessProbe": _exec(alive, 5, 3),
    }


def _placement(region: str, component: str) -> Obj:
    """Pods of one component on different nodes (a replica beside its primary protects
    nothing; a pending pod says so), and spread over zones where the cluster has them."""
    selector = {"matchLabels": labels(region, component)}
    return {
        "affinity": {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": selector, "topologyKey": "kubernetes.io/hostname"}
                ]
            }
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": selector,
            }
        ],
    }


def _env(ns: str, replicas: int) -> list[Obj]:
    def field(name: str, path: str) -> Obj:
        return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}

    values = {
        "GAVEL_DATA_DIR": DATA_DIR,
        "GAVEL_REDIS_SERVICE": "gavel-redis",
        "GAVEL_REDIS_PORT": str(REDIS_PORT),
        "GAVEL_REDIS_NODES": str(1 + replicas),
        "GAVEL_REDIS_MASTER": MASTER,
        "GAVEL_SENTINELS": " ".join(sentinel_hosts(ns)),
    }
    return [
        field("POD_NAME", "metadata.name"),
        field("POD_NAMESPACE", "metadata.namespace"),
        *({"name": k, "value": v} for k, v in values.items()),
    ]


def _statefulset(region: str, ns: str, component: str, replicas: int, pod: Obj) -> Obj:
    name = f"gavel-{component}"
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta(name, ns, region, component),
        "spec": {
            "serviceName": name,
            "replicas": replicas,
            # No podManagementPolicy: it is immutable, and the regions' existing StatefulSet
            # (one server) was made without one. The scripts need no order either way.
            "selector": {"matchLabels": labels(region, component)},
            "template": {"metadata": {"labels": labels(region, component)}, "spec": pod},
        },
    }


def _single(region: str, ns: str, image: str, resources: Obj) -> list[Obj]:
    container = {
        "name": "redis",
        "image": image,
        "args": list(REDIS_PERSISTENCE_ARGS),
        "ports": [{"name": "main", "containerPort": REDIS_PORT}],
        "volumeMounts": [{"name": "data", "mountPath": DATA_DIR}],
        "resources": resources,
    }
    redis = _statefulset(region, ns, "redis", 1, {"containers": [container]})
    redis["spec"]["volumeClaimTemplates"] = [_claim()]
    return [redis, service(region, ns, "redis", REDIS_PORT, headless=True)]


def _claim() -> Obj:
    return {
        "metadata": {"name": "data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": DATA_VOLUME}},
        },
    }


def render_redis(
    region: str,
    ns: str,
    *,
    replicas: int,
    image: str,
    resources: Obj,
    sentinel_resources: Obj,
) -> list[Obj]:
    """The objects of region ``region``'s Redis in namespace ``ns``."""
    if replicas == 0:
        return _single(region, ns, image, resources)
    scripts = {"name": "scripts", "configMap": {"name": "gavel-redis-scripts"}}
    mount = {"name": "scripts", "mountPath": "/scripts"}
    data = {
        "name": "redis",
        "image": image,
        "command": ["sh", "/scripts/redis-node.sh"],
        "args": [*REDIS_PERSISTENCE_ARGS, *replication_args(replicas)],
        "env": _env(ns, replicas),
        "ports": [{"name": "main", "containerPort": REDIS_PORT}],
        "volumeMounts": [{"name": "data", "mountPath": DATA_DIR}, mount],
        "resources": resources,
        **_probes(
            REDIS_PORT,
            # A primary, or a replica whose link to it is up.
            f"redis-cli -p {REDIS_PORT} info replication"
            " | grep -Eq '^role:master|^master_link_status:up'",
        ),
    }
    sentinel = {
        "name": "sentinel",
        "image": image,
        "command": ["sh", "/scripts/redis-sentinel.sh"],
        "env": [
            *_env(ns, replicas),
            {"name": "GAVEL_SENTINEL_SERVICE", "value": "gavel-redis-sentinel"},
            {"name": "GAVEL_SENTINEL_PORT", "value": str(SENTINEL_PORT)},
            {"name": "GAVEL_SENTINEL_QUORUM", "value": str(QUORUM)},
            {"name": "GAVEL_SENTINEL_DOWN_AFTER_MS", "value": str(DOWN_AFTER_MS)},
            {"name": "GAVEL_SENTINEL_FAILOVER_TIMEOUT_MS", "value": str(FAILOVER_TIMEOUT_MS)},
        ],
        "ports": [{"name": "main", "containerPort": SENTINEL_PORT}],
        "volumeMounts": [{"name": "data", "mountPath": DATA_DIR}, mount],
        "resources": sentinel_resources,
        # Ready once it monitors a primary it can name.
        **_probes(
            SENTINEL_PORT,
            f"redis-cli -p {SENTINEL_PORT} sentinel get-master-addr-by-name {MASTER} | grep -q .",
        ),
    }
    nodes = _statefulset(
        region,
        ns,
        "redis",
        1 + replicas,
        {"containers": [data], "volumes": [scripts], **_placement(region, "redis")},
    )
    nodes["spec"]["volumeClaimTemplates"] = [_claim()]
    sentinels = _statefulset(
        region,
        ns,
        "redis-sentinel",
        SENTINELS,
        {
            "containers": [sentinel],
            "volumes": [scripts, {"name": "data", "emptyDir": {}}],
            **_placement(region, "redis-sentinel"),
        },
    )
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta("gavel-redis-scripts", ns, region, "redis"),
            "data": {name: script(name) for name in SCRIPTS},
        },
        nodes,
        service(region, ns, "redis", REDIS_PORT, headless=True, publish_not_ready=True),
        pdb(region, ns, "redis"),
        sentinels,
        service(region, ns, "redis-sentinel", SENTINEL_PORT, headless=True, publish_not_ready=True),
        pdb(region, ns, "redis-sentinel"),
    ]


_ROLE_OF_COMMAND = {"gateway": Role.GATEWAY, "relay": Role.RELAY, "fanout": Role.FANOUT}
"""The Redis ACL user each ``gavel`` command runs as (the audit writer reaches no Redis)."""


def login_env(command: str, secret: str | None) -> list[dict[str, object]]:
    """``REDIS_AUTH_<ROLE>`` of ``command``'s role from ``secret`` (its key: the role), or
    nothing: a pod only ever holds its own role's login (docs/security.md, "Data stores")."""
    role = _ROLE_OF_COMMAND.get(command)
    if secret is None or role is None:
        return []
    ref = {"secretKeyRef": {"name": secret, "key": role.value}}
    return [{"name": endpoints.redis_auth_var(role), "valueFrom": ref}]


CA_DIR = "/etc/gavel/redis-ca"
CA_VOLUME = "redis-ca"


def ca_env(command: str, ca: CaSecret | None) -> list[dict[str, object]]:
    """``REDIS_CA_FILE`` for a Redis client (``spec.endpoints.redisCaSecret``): the CA its
    ``rediss://`` connections trust (other regions' Redis reached across the network)."""
    if ca is None or command not in _ROLE_OF_COMMAND:
        return []
    return [{"name": endpoints.REDIS_CA_FILE, "value": f"{CA_DIR}/{ca.key}"}]


def with_ca(objects: list[Obj], ca: CaSecret | None) -> list[Obj]:
    """Mount the Redis CA Secret where a container reads it; changes ``objects`` in place."""
    if ca is None:
        return objects
    return mount_secret_where(objects, endpoints.REDIS_CA_FILE, ca.name, CA_VOLUME, CA_DIR)
