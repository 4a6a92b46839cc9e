"""Region -> the Kubernetes objects of Gavel's regional workloads. Pure builders.

Called by the operator's Region handler, which applies the result to the regional cluster with
server-side apply under one field manager; nothing here talks to a cluster. Golden files in
``tests/unit/gavel_operator/golden/`` pin the output.

What a Region gives the rendering is :class:`RegionView` (:mod:`gavel_operator.rendering_view`).
Per region: the namespace; Redis (a primary, replicas and Sentinels, or a single server:
:mod:`gavel_operator.rendering_redis`); MirrorMaker 2
(ConfigMap from :func:`gavel.mirror.render_mirrormaker_config`, the function the local stack
uses, and a Deployment); the gateway and the fan-out (Deployment, Service, HPA,
PodDisruptionBudget); the relay (one replica, Recreate: per-drop order into Kafka needs a single
relay) and the audit writer (Deployments).
"""

from __future__ import annotations

import json

from gavel import endpoints, mirror
from gavel.resources.drop import DropSpec
from gavel_operator import rendering_cassandra, rendering_kafka, rendering_redis
from gavel_operator.rendering_parts import Obj, labels, meta, pdb, service
from gavel_operator.rendering_view import DEFAULT_RESOURCES, Images, RegionView

__all__ = [
    "DEFAULT_RESOURCES",
    "SCALED",
    "Images",
    "RegionView",
    "drop_record",
    "render_region",
    "security_context",
]
"""What callers use; the view's names are re-exported, so they import everything from here."""

GATEWAY_PORT, FANOUT_PORT, RELAY_PORT, AUDIT_PORT = 8080, 8090, 8081, 8082
SHIPPER_PORT = 8083
AUDIT_REPLICAS_PER_DC = 3
"""Replicas of the audit keyspace in each region's data centre (NetworkTopologyStrategy)."""
OUTBOX_DIR = "/var/lib/gavel/outbox"


def _env(pairs: dict[str, str]) -> list[Obj]:
    return [{"name": k, "value": v} for k, v in pairs.items()]


def _probe(path: str, port: int) -> Obj:
    return {"httpGet": {"path": path, "port": port}, "periodSeconds": 5}


STARTUP_PROBE_WINDOW_S = 120
"""How long a Gavel container may take to answer /healthz before the kubelet restarts it. The
liveness probe (3 misses 5 s apart) only starts after that: on a busy node a Python start took
longer than its 15 s, and the liveness probe killed pods that were still importing."""


def security_context() -> Obj:
    """Every Gavel container's: the image's user 10001 (never root), nothing written outside
    its volumes (the gateway's outbox is an emptyDir), no capabilities. A new dict each time,
    so the rendered YAML has no anchors."""
    return {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }


def _deployment(
    r: RegionView,
    component: str,
    replicas: int | None,
    container: Obj,
    strategy: str = "RollingUpdate",
) -> Obj:
    spec: Obj = {} if replicas is None else {"replicas": replicas}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(f"gavel-{component}", r.namespace, r.name, component),
        "spec": spec
        | {
            "strategy": {"type": strategy},
            "selector": {"matchLabels": labels(r.name, component)},
            "template": {
                "metadata": {"labels": labels(r.name, component)},
                "spec": {"containers": [container]},
            },
        },
    }


def _service(r: RegionView, component: str, port: int) -> Obj:
    return service(r.name, r.namespace, component, port)


def _hpa(r: RegionView, component: str, minimum: int) -> Obj:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta(f"gavel-{component}", r.namespace, r.name, component),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": f"gavel-{component}",
            },
            # Pre-scaling raises minReplicas before a drop (scheduling.desired_replicas).
            "minReplicas": minimum,
            "maxReplicas": max(minimum * 4, 10),
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 60},
                    },
                }
            ],
        },
    }


def _gavel(
    images: Images,
    r: RegionView,
    regions: list[RegionView],
    command: str,
    port: int,
    *,
    args: tuple[str, ...] = (),
    name: str | None = None,
    resources: str | None = None,
) -> Obj:
    """A container running ``gavel <command>`` for region ``r``."""
    # Its own Redis through the in-cluster Services (its Sentinels, when it has replicas);
    # other regions' (a drop homed elsewhere is decided there) through the address their
    # Region publishes.
    redis = {
        endpoints.redis_url_var(x.name): rendering_redis.redis_url(r.namespace, r.redis_replicas)
        if x.name == r.name
        else x.redis_url
        for x in regions
    }
    env = {
        endpoints.REGIONS: ",".join(x.name for x in regions),
        **redis,
        endpoints.kafka_bootstrap_var(r.name): r.kafka_bootstrap,
    }
    if command == "audit-writer":
        env |= {
            endpoints.CASSANDRA_CONTACT: r.cassandra_contact,
            endpoints.CASSANDRA_DC: r.cassandra_dc,
            # Whichever writer creates the keyspace first, it spans every region's DC.
            endpoints.AUDIT_REPLICATION: ",".join(
                f"{x.cassandra_dc}={AUDIT_REPLICAS_PER_DC}" for x in regions
            ),
        }
    container: Obj = {
        "name": name or command,
        "image": images.gavel,
        "args": [command, "--region", r.name, "--port", str(port), "--host", "0.0.0.0", *args],  # noqa: S104 - in a pod
        "env": _env(env) + rendering_redis.login_env(command, r.redis_auth_secret),
        "ports": [{"name": "main", "containerPort": port}],
        "startupProbe": _probe("/healthz", port)
        | {"periodSeconds": 2, "failureThreshold": STARTUP_PROBE_WINDOW_S // 2},
        "readinessProbe": _probe("/readyz", port),
        "livenessProbe": _probe("/healthz", port),
        "resources": r.resources_of(resources or command),
        "securityContext": security_context(),
        # A crash's traceback (the log's end) becomes the last termination message, which the
        # Region's PodsHealthy condition quotes: the cause shows without reading pod logs.
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    container["env"] += rendering_kafka.container_env(r.kafka, command)
    container["env"] += rendering_cassandra.container_env(r.cassandra, command)
    container["env"] += rendering_redis.ca_env(command, r.redis_ca)
    return container


JWKS_DIR = "/etc/gavel/jwks"
JWKS_FILE = "jwks.json"


def _token_settings(r: RegionView) -> tuple[list[Obj], list[str], Obj | None]:
    """The gateway's env, args and JWKS volume for spec.bidderTokens: public keys only (the
    identity provider keeps the signing keys), from a URL or a ConfigMap mounted as a folder
    (not subPath: the kubelet then updates the file when the ConfigMap changes)."""
    tokens = r.bidder_tokens
    if tokens is None:
        return [], [], None
    volume = None
    jwks = tokens.jwks_url
    if tokens.jwks_config_map_ref is not None:
        ref = tokens.jwks_config_map_ref
        volume = {
            "name": "jwks",
            "configMap": {"name": ref.name, "items": [{"key": ref.key, "path": JWKS_FILE}]},
        }
        jwks = f"{JWKS_DIR}/{JWKS_FILE}"
    env = _env({endpoints.JWKS: str(jwks), endpoints.TOKEN_ISSUER: tokens.issuer})
    return env, ["--jwks-refresh-s", str(tokens.refresh_seconds)], volume


def _page_origins(regions: list[RegionView]) -> tuple[str, ...]:
    """``--allow-origin`` for every region's drop page (its fan-out's public URL, as the page's
    http(s) origin): a page may bid at any region's gateway."""
    args: list[str] = []
    for x in regions:
        if x.fanout_url:
            scheme, rest = x.fanout_url.split("://", 1)
            host = rest.split("/", 1)[0]
            args += ["--allow-origin", f"{'https' if scheme == 'wss' else 'http'}://{host}"]
    return tuple(args)


def _page_gateways(regions: list[RegionView]) -> tuple[str, ...]:
    """``--gateway-url`` for every region that publishes one: a page bids at its drop's home."""
    args: list[str] = []
    for x in regions:
        if x.gateway_url:
            args += ["--gateway-url", f"{x.name}={x.gateway_url}"]
    return tuple(args)


def _gateway_pod(images: Images, r: RegionView, regions: list[RegionView]) -> Obj:
    """The gateway and its disk-outbox shipper, sharing the outbox folder.

    An attempt the gateway cannot take to Redis is fsynced to the outbox; the shipper (a relay
    with ``--no-streams``) takes it to Kafka. The folder is an emptyDir: it outlives a crash of
    either container, not the loss of the pod's node (docs/operator.md)."""
    mount = {"name": "outbox", "mountPath": OUTBOX_DIR}
    token_env, token_args, jwks_volume = _token_settings(r)
    gateway = _gavel(
        images,
        r,
        regions,
        "gateway",
        GATEWAY_PORT,
        args=(*_page_origins(regions), *token_args, "--outbox-dir", OUTBOX_DIR),
    )
    gateway["env"] += token_env
    shipper = _gavel(
        images,
        r,
        regions,
        "relay",
        SHIPPER_PORT,
        args=("--no-streams", "--outbox-dir", OUTBOX_DIR),
        name="outbox-shipper",
        resources="outboxShipper",
    )
    # Not a readiness gate: while Redis is down the gateway needs its outbox most, and the
    # pod must stay in the Service.
    del shipper["readinessProbe"]
    shipper["ports"][0]["name"] = "shipper"
    gateway["volumeMounts"], shipper["volumeMounts"] = [mount], [dict(mount)]
    deployment = _deployment(r, "gateway", None, gateway)
    pod = deployment["spec"]["template"]["spec"]
    pod["containers"].append(shipper)
    pod["volumes"] = [{"name": "outbox", "emptyDir": {}}]
    if jwks_volume is not None:
        gateway["volumeMounts"].append({"name": "jwks", "mountPath": JWKS_DIR, "readOnly": True})
        pod["volumes"].append(jwks_volume)
    return deployment


def render_region(
    r: RegionView, regions: list[RegionView], images: Images | None = None
) -> list[Obj]:
    """Every object of region ``r``; ``regions`` is every Region (MirrorMaker pulls from all)."""
    images = images or Images()
    ns = r.namespace
    bootstraps = {x.name: x.kafka_bootstrap for x in regions}
    mm2 = ""
    if len(regions) > 1:
        auth = rendering_kafka.mirror_auth(r.kafka)
        mm2 = mirror.render_mirrormaker_config(r.name, bootstraps, auth=auth)
    secret_volumes, secret_mounts = rendering_kafka.mirror_volumes(r.kafka)
    objects: list[Obj] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns, "labels": labels(r.name, "namespace")},
        },
        *rendering_redis.render_redis(
            r.name,
            ns,
            replicas=r.redis_replicas,
            image=images.redis,
            resources=r.resources_of("redis"),
            sentinel_resources=r.resources_of("redisSentinel"),
        ),
    ]
    if mm2:
        objects += [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": meta("gavel-mirrormaker", ns, r.name, "mirrormaker"),
                "data": {"mm2.properties": mm2},
            },
            _deployment(
                r,
                "mirrormaker",
                1,
                {
                    "name": "mirrormaker",
                    "image": images.kafka,
                    "command": [
                        "/opt/kafka/bin/connect-mirror-maker.sh",
                        "/config/mm2.properties",
                        "--clusters",
                        r.name,
                    ],
                    "volumeMounts": [{"name": "config", "mountPath": "/config"}, *secret_mounts],
                    "resources": r.resources_of("mirrormaker"),
                },
                "Recreate",
            ),
        ]
        objects[-1]["spec"]["template"]["spec"]["volumes"] = [
            {"name": "config", "configMap": {"name": "gavel-mirrormaker"}},
            *secret_volumes,
        ]
    writer_args = rendering_cassandra.writer_args(r.cassandra)
    for component, port, minimum in (
        ("gateway", GATEWAY_PORT, r.gateway_min),
        ("fanout", FANOUT_PORT, r.fanout_min),
    ):
        # No replicas here: the HPA owns them. Applying a count would undo its scaling on every
        # resync; the operator raises a Deployment to its floor through /scale instead.
        objects += [
            _gateway_pod(images, r, regions)
            if component == "gateway"
            else _deployment(
                r,
                component,
                None,
                _gavel(images, r, regions, component, port, args=_page_gateways(regions)),
            ),
            _service(r, component, port),
            _hpa(r, component, minimum),
            pdb(r.name, r.namespace, component),
        ]
    objects += [
        # The region's one stream relay; disk outboxes are shipped by each gateway pod's sidecar.
        _deployment(
            r,
            "relay",
            1,
            _gavel(images, r, regions, "relay", RELAY_PORT, args=("--no-outbox",)),
            "Recreate",
        ),
        _deployment(
            r,
            "audit-writer",
            2,
            _gavel(
                images,
                r,
                regions,
                "audit-writer",
                AUDIT_PORT,
                args=writer_args,
                resources="auditWriter",
            ),
        ),
    ]
    rendering_cassandra.with_ca(objects, r.cassandra)
    rendering_redis.with_ca(objects, r.redis_ca)
    return rendering_kafka.with_ca(objects, r.kafka)


SCALED = ("gateway", "fanout")
"""Components whose replicas the HPA owns and pre-scaling raises."""


def drop_record(name: str, hub_namespace: str, spec: DropSpec, region: RegionView) -> Obj:
    """The regional cluster's record of a drop it serves: a ConfigMap with the Drop's spec.

    The auction itself runs from Redis (the home region's decides, the others hold a copy of the
    rules); this record lets a regional on-call see and label-select the drops their cluster is
    serving, and is what the Drop's finalizer removes. The spec is written as it was given
    (fields left out stay out; times in RFC 3339, UTC with a Z).
    """
    given = spec.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"gavel-drop-{name}",
            "namespace": region.namespace,
            "labels": labels(region.name, "drop") | {"gavel.dev/drop": name},
            "annotations": {"gavel.dev/source": f"{hub_namespace}/{name}"},
        },
        "data": {"spec.json": json.dumps(given, sort_keys=True, indent=2)},
    }
