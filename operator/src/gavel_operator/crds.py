"""The ``Region`` and ``Drop`` custom resource definitions: the one source of their schema.

Pure builders of apiextensions/v1 objects. ``crds/*.yaml`` and the Helm chart's copy are
generated from here (``gavel operator crds --write crds/ --write charts/gavel-operator/crds/``)
and unit tests fail when they differ. The schemas carry OpenAPI validation and CEL rules so the
API server refuses a bad spec with a clear message before the operator ever sees it; the Drop's
rules mirror :func:`gavel.auction.Rules.errors` and :data:`gavel.auction.FROZEN_ONCE_OPEN`.
"""

from __future__ import annotations

from typing import Any

from gavel.auction import MAX_AMOUNT

GROUP = "gavel.dev"
VERSION = "v1alpha1"
MAX_LEAD_SECONDS = 24 * 3600
"""Pre-scaling may start at most a day before a drop opens."""

Schema = dict[str, Any]


def _int(description: str, minimum: int = 0, maximum: int = MAX_AMOUNT) -> Schema:
    return {
        "type": "integer",
        "format": "int64",
        "minimum": minimum,
        "maximum": maximum,
        "description": description,
    }


def _str(description: str, **extra: Any) -> Schema:
    return {"type": "string", "description": description, **extra}


def _obj(
    description: str,
    properties: dict[str, Schema],
    *,
    required: list[str] | None = None,
    rules: list[dict[str, str]] | None = None,
) -> Schema:
    schema: Schema = {"type": "object", "description": description, "properties": properties}
    if required:
        schema["required"] = required
    if rules:
        schema["x-kubernetes-validations"] = rules
    return schema


_REGION_NAME = _str(
    "A Region's name.", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", maxLength=63
)

_CONDITIONS: Schema = {
    "type": "array",
    "description": "Standard conditions (Ready, Synced, Degraded...).",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
    "items": _obj(
        "A condition.",
        {
            "type": _str("Condition type."),
            "status": _str("True, False or Unknown.", enum=["True", "False", "Unknown"]),
            "reason": _str("Machine-readable reason."),
            "message": _str("Human-readable detail."),
            "lastTransitionTime": _str("When status last changed.", format="date-time"),
            "observedGeneration": _int("Generation the condition was computed for.", maximum=2**53),
        },
        required=["type", "status"],
    ),
}


COMPONENTS = (
    "gateway",
    "outboxShipper",
    "fanout",
    "relay",
    "auditWriter",
    "redis",
    "mirrormaker",
)
"""Region components whose resources may be set (the keys of spec.resources)."""

_QUANTITY = _str(
    "A Kubernetes quantity (e.g. 500m, 2, 1Gi).",
    pattern=r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$",
)


def _resources(component: str) -> Schema:
    amounts = {"cpu": _QUANTITY, "memory": _QUANTITY}
    return _obj(
        f"Resources of the {component} container.",
        {
            "requests": _obj("What the scheduler reserves.", amounts),
            "limits": _obj("The most it may use.", amounts),
        },
    )


def region_crd() -> dict[str, Any]:
    spec = _obj(
        "Where and how Gavel runs in one regional cluster.",
        {
            "cluster": _obj(
                "How the operator reaches the regional cluster.",
                {
                    "inCluster": {
                        "type": "boolean",
                        "description": "The operator's own cluster (no kubeconfig).",
                    },
                    "kubeconfigSecretRef": _obj(
                        "A Secret in the operator's namespace holding a kubeconfig.",
                        {
                            "name": _str("Secret name.", minLength=1),
                            "key": _str("Key in the Secret.", default="kubeconfig"),
                        },
                        required=["name"],
                    ),
                },
                rules=[
                    {
                        "rule": "has(self.inCluster) && self.inCluster"
                        " ? !has(self.kubeconfigSecretRef) : has(self.kubeconfigSecretRef)",
                        "message": "set exactly one of cluster.inCluster: true or "
                        "cluster.kubeconfigSecretRef",
                    }
                ],
            ),
            "namespace": _str(
                "Namespace for Gavel's workloads in the regional cluster.",
                default="gavel",
                pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
            ),
            "endpoints": _obj(
                "Addresses clients and other regions use.",
                {
                    "kafkaBootstrap": _str(
                        "This region's Kafka bootstrap servers (host:port,...).", minLength=1
                    ),
                    "redisUrl": _str(
                        "This region's Redis as the operator and other regions' gateways reach "
                        "it (redis://host:port/db): drops homed here are decided in it.",
                        pattern=r"^rediss?://",
                    ),
                    "cassandra": _obj(
                        "The audit trail's Cassandra as this region's audit writers reach it.",
                        {
                            "contactPoints": _str("host:port,... of local nodes.", minLength=1),
                            "dataCenter": _str(
                                "This region's data centre (default: the Region's name)."
                            ),
                        },
                        required=["contactPoints"],
                    ),
                    "gatewayUrl": _str("Public URL of the bid gateway.", pattern=r"^https?://"),
                    "fanoutUrl": _str(
                        "Public URL of the fan-out (observers).", pattern=r"^wss?://"
                    ),
                },
                required=["kafkaBootstrap", "redisUrl", "cassandra"],
            ),
            "capacity": _obj(
                "What one pod handles, for pre-scaling.",
                {
                    "observersPerFanoutPod": _int(
                        "Observer sockets one fan-out pod holds.", 1, 10**6
                    ),
                    "bidsPerSecondPerGatewayPod": _int(
                        "Bids/s one gateway pod answers within its latency target.", 1, 10**6
                    ),
                },
                required=["observersPerFanoutPod", "bidsPerSecondPerGatewayPod"],
            ),
            "baseline": _obj(
                "Replicas outside drops.",
                {
                    "gateway": _int("Gateway replicas.", 1, 1000) | {"default": 2},
                    "fanout": _int("Fan-out replicas.", 1, 1000) | {"default": 2},
                },
            ),
            "resources": _obj(
                "CPU and memory per component; unset ones keep the operator's defaults.",
                {c: _resources(c) for c in COMPONENTS},
            ),
        },
        required=["cluster", "endpoints", "capacity"],
    )
    status = _obj(
        "What the operator last saw.",
        {
            "reachable": {"type": "boolean", "description": "The regional API server answered."},
            "lastSync": _str("When the workloads were last applied.", format="date-time"),
            "syncedGeneration": _int("spec generation last applied.", maximum=2**53),
            "minReplicas": _obj(
                "Replica floors applied: the baseline, raised while drops need more.",
                {
                    "gateway": _int("Gateway minimum (its HPA's minReplicas).", 0, 10**5),
                    "fanout": _int("Fan-out minimum (its HPA's minReplicas).", 0, 10**5),
                },
            ),
            "workloads": {
                "type": "object",
                "description": "Ready over wanted replicas per component, e.g. gateway: 6/6.",
                "additionalProperties": {"type": "string"},
            },
            "conditions": _CONDITIONS,
        },
    )
    return _crd(
        "Region",
        "regions",
        "Cluster",
        ["rg"],
        spec=spec,
        status=status,
        columns=[
            _column("Reachable", "boolean", ".status.reachable"),
            _column("Available", "string", '.status.conditions[?(@.type=="Available")].status'),
            _column("Namespace", "string", ".spec.namespace"),
            _column("Gateways", "integer", ".status.minReplicas.gateway"),
            _column("Fanouts", "integer", ".status.minReplicas.fanout"),
            _column("Kafka", "string", ".spec.endpoints.kafkaBootstrap", priority=1),
            _column("Age", "date", ".metadata.creationTimestamp"),
        ],
        root_rules=[],
    )


def drop_crd() -> dict[str, Any]:
    increments = {
        "type": "array",
        "minItems": 1,
        "maxItems": 32,
        "description": "Tiers by high bid: from 'from' upwards, bids rise by at least 'step'.",
        "items": _obj(
            "One tier.",
            {
                "from": _int("Lower bound of the tier (minor units)."),
                "step": _int("Minimum raise in this tier.", 1),
            },
            required=["from", "step"],
        ),
        "x-kubernetes-validations": [
            {"rule": "self[0].from == 0", "message": "the first increment tier must start from 0"},
            {
                "rule": "self.all(i, self.exists_one(j, j.from == i.from))",
                "message": "increment tiers must not repeat a 'from'",
            },
            {
                "rule": "self.map(i, i.from).isSorted()",
                "message": "increment tiers must be sorted by 'from'",
            },
        ],
    }
    auction = _obj(
        "The auction rules; frozen once the drop is live (see docs).",
        {
            "currency": _str("ISO 4217 code.", pattern="^[A-Z]{3}$"),
            "startPrice": _int("Lowest first bid (minor units).", 1),
            "reservePrice": _int("Bids below it are accepted; the drop reports whether it was met.")
            | {"default": 0},
            "increments": increments,
            "softClose": _obj(
                "A bid in the last windowSeconds moves the end to now + "
                "extensionSeconds, never past hardStopAt.",
                {
                    "windowSeconds": _int("Window before the end.", 1, 3600),
                    "extensionSeconds": _int("Extension.", 1, 3600),
                    "hardStopAt": _str("Latest possible end.", format="date-time"),
                },
                required=["windowSeconds", "extensionSeconds"],
            ),
        },
        required=["currency", "startPrice", "increments"],
    )
    spec = _obj(
        "A timed auction of one item, run in one or more regions.",
        {
            "product": _obj(
                "What is sold.",
                {"sku": _str("Stock-keeping unit."), "title": _str("Display title.")},
            ),
            "homeRegion": _REGION_NAME | {"description": "Region whose Redis decides every bid."},
            "regions": {
                "type": "array",
                "description": "Participating regions (default: all).",
                "items": _REGION_NAME,
                "x-kubernetes-list-type": "set",
                "maxItems": 16,
            },
            "startsAt": _str("When bidding opens.", format="date-time"),
            "endsAt": _str(
                "When bidding closes (before soft-close extensions).", format="date-time"
            ),
            "cancelled": {
                "type": "boolean",
                "description": "Stop the drop; cannot be undone.",
                "default": False,
            },
            "auction": auction,
            "demand": _obj(
                "Expected crowd, for pre-scaling.",
                {
                    "peakObservers": _int("Observers at the peak, all regions together.", 0, 10**9),
                    "peakBidders": _int(
                        "Bids per second at the peak, all regions together.", 0, 10**7
                    ),
                    "regionWeights": {
                        "type": "object",
                        "description": "Share of the crowd per region "
                        "(relative weights; default: equal).",
                        "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 1000},
                    },
                },
            ),
            "preScale": _obj(
                "When and how much to scale up before the drop opens.",
                {
                    "leadSeconds": _int("Scale up this long before startsAt.", 0, MAX_LEAD_SECONDS)
                    | {"default": 600},
                    "headroomPercent": _int("Extra capacity over the expected peak.", 0, 500)
                    | {"default": 30},
                    "cooldownSeconds": _int(
                        "Keep the raised capacity this long after the end.", 0, MAX_LEAD_SECONDS
                    )
                    | {"default": 600},
                },
            ),
        },
        required=["homeRegion", "startsAt", "endsAt", "auction"],
        rules=[
            {
                "rule": "timestamp(self.endsAt) > timestamp(self.startsAt)",
                "message": "endsAt must be after startsAt",
            },
            {
                "rule": "!has(self.regions) || self.homeRegion in self.regions",
                "message": "homeRegion must be one of regions",
            },
            {
                "rule": "!has(self.auction.softClose) || !has(self.auction.softClose.hardStopAt) "
                "|| timestamp(self.auction.softClose.hardStopAt) >= timestamp(self.endsAt)",
                "message": "softClose.hardStopAt must not be before endsAt",
            },
        ],
    )
    status = _obj(
        "Aggregated from every region.",
        {
            "phase": _str(
                "Scheduled, PreScaling, Live, Closed, Failed or Cancelled.",
                enum=["Scheduled", "PreScaling", "Live", "Closed", "Failed", "Cancelled"],
            ),
            "regions": {
                "type": "object",
                "description": "Rollout per region.",
                "additionalProperties": _obj(
                    "One region.",
                    {
                        "ready": {"type": "boolean", "description": "Rules and scale applied."},
                        "gatewayReplicas": _int("Gateway replicas asked for.", 0, 10**5),
                        "fanoutReplicas": _int("Fan-out replicas asked for.", 0, 10**5),
                        "message": _str("Why not ready."),
                    },
                ),
            },
            "regionsReady": _str("Ready regions over participating ones, e.g. 4/5."),
            "liveEndsAt": _str(
                "The end in the home region's Redis (soft close may have moved it).",
                format="date-time",
            ),
            "highBid": _int("Current high bid (minor units)."),
            "bids": _int("Accepted bids.", maximum=2**53),
            "winnerAlias": _str("Leader alias once closed."),
            "reserveMet": {"type": "boolean", "description": "The high bid reached the reserve."},
            "conditions": _CONDITIONS,
            "observedGeneration": _int("spec generation the status describes.", maximum=2**53),
        },
    )
    # Once the drop is live (the operator says so in status), what bidders decided under is
    # frozen: the auction rules and the start; the end may only move later. Mirrors
    # gavel.auction.rule_change_errors, which the operator also enforces in Redis.
    frozen = [
        {
            "rule": "!has(oldSelf.status) || !has(oldSelf.status.phase) || "
            "!(oldSelf.status.phase in ['Live', 'Closed']) || "
            "self.spec.auction == oldSelf.spec.auction",
            "message": "spec.auction is frozen once the drop is live",
        },
        {
            "rule": "!has(oldSelf.status) || !has(oldSelf.status.phase) || "
            "!(oldSelf.status.phase in ['Live', 'Closed']) || "
            "(self.spec.startsAt == oldSelf.spec.startsAt && "
            "self.spec.homeRegion == oldSelf.spec.homeRegion)",
            "message": "spec.startsAt and spec.homeRegion are frozen once the drop is live",
        },
        {
            "rule": "!has(oldSelf.status) || !has(oldSelf.status.phase) || "
            "!(oldSelf.status.phase in ['Live', 'Closed']) || "
            "timestamp(self.spec.endsAt) >= timestamp(oldSelf.spec.endsAt)",
            "message": "spec.endsAt may only move later once the drop is live",
        },
        {
            "rule": "!has(oldSelf.spec.cancelled) || !oldSelf.spec.cancelled || "
            "(has(self.spec.cancelled) && self.spec.cancelled)",
            "message": "a cancelled drop cannot be reopened",
        },
    ]
    return _crd(
        "Drop",
        "drops",
        "Namespaced",
        ["drp"],
        spec=spec,
        status=status,
        columns=[
            _column("Phase", "string", ".status.phase"),
            _column("Price", "integer", ".status.highBid"),
            _column("Starts", "date", ".spec.startsAt"),
            _column("Ends", "date", ".spec.endsAt"),
            _column("Regions", "string", ".status.regionsReady"),
            _column("Home", "string", ".spec.homeRegion", priority=1),
        ],
        root_rules=frozen,
    )


def _column(name: str, kind: str, path: str, priority: int = 0) -> dict[str, Any]:
    column: dict[str, Any] = {"name": name, "type": kind, "jsonPath": path}
    if priority:
        column["priority"] = priority
    return column


def _crd(
    kind: str,
    plural: str,
    scope: str,
    short: list[str],
    *,
    spec: Schema,
    status: Schema,
    columns: list[dict[str, Any]],
    root_rules: list[dict[str, str]],
) -> dict[str, Any]:
    root: Schema = {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec,
            "status": status,
        },
        "required": ["spec"],
    }
    if root_rules:
        root["x-kubernetes-validations"] = root_rules
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": scope,
            "names": {
                "kind": kind,
                "plural": plural,
                "singular": kind.lower(),
                "listKind": f"{kind}List",
                "shortNames": short,
                "categories": ["gavel"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": root},
                }
            ],
        },
    }


def all_crds() -> dict[str, dict[str, Any]]:
    """File name in ``crds/`` -> CRD object."""
    return {"regions.gavel.dev.yaml": region_crd(), "drops.gavel.dev.yaml": drop_crd()}
