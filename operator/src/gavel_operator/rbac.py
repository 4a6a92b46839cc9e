"""The operator's permissions, least privilege: the one source of its RBAC. Pure builders.

Two identities:

- in the hub, the operator's ServiceAccount: watch and patch Regions and Drops (kopf's
  finalizer and progress annotations are patches), patch their status, post events, and
  ``get`` Secrets in its own namespace only (the kubeconfigs of the regional clusters; never
  list or watch, so it cannot read Secrets it was not pointed at);
- in every regional cluster, the identity of the kubeconfig in the Region's Secret: create and
  server-side apply exactly the kinds :func:`gavel_operator.rendering.render_region` renders,
  raise two Deployments through ``/scale``, and delete the drop records (ConfigMaps).

``charts/gavel-operator/templates/rbac.yaml`` is generated from here (``gavel operator rbac
--write charts/gavel-operator/templates/rbac.yaml``); a unit test keeps the two in step, and the
e2e test runs the operator with exactly these permissions in all six clusters.
"""

from __future__ import annotations

from typing import Any

from gavel_operator.crds import GROUP

Obj = dict[str, Any]
NAME = "gavel-operator"
REGIONAL_NAME = "gavel-operator-regional"

APPLY = ["get", "create", "patch"]
"""Server-side apply is a PATCH, and a PATCH that creates also needs create."""


def _rule(group: str, resources: list[str], verbs: list[str]) -> Obj:
    return {"apiGroups": [group], "resources": resources, "verbs": verbs}


def hub_rules() -> list[Obj]:
    return [
        _rule(GROUP, ["regions", "drops"], ["get", "list", "watch", "patch"]),
        _rule(GROUP, ["regions/status", "drops/status"], ["get", "patch"]),
        # kopf reports handler failures as events on the object.
        _rule("", ["events"], ["create"]),
        _rule("events.k8s.io", ["events"], ["create"]),
    ]


def secret_rules() -> list[Obj]:
    return [_rule("", ["secrets"], ["get"])]


def regional_rules() -> list[Obj]:
    return [
        _rule("", ["namespaces", "services"], APPLY),
        _rule("", ["configmaps"], [*APPLY, "delete"]),
        # list: the Region's status counts their ready replicas.
        _rule("apps", ["deployments", "statefulsets"], [*APPLY, "list"]),
        # The Region's PodsHealthy condition says why pods fail (image, crash, readiness).
        _rule("", ["pods"], ["list"]),
        _rule("apps", ["deployments/scale"], ["get", "patch"]),
        _rule("autoscaling", ["horizontalpodautoscalers"], APPLY),
        _rule("policy", ["poddisruptionbudgets"], APPLY),
    ]


def _binding(kind: str, name: str, namespace: str | None, subject_ns: str, sa: str) -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": f"{kind}Binding",
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": subject_ns}],
    }


def _role(kind: str, name: str, namespace: str | None, rules: list[Obj]) -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": meta,
        "rules": rules,
    }


def _service_account(name: str, namespace: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace},
    }


def hub(namespace: str) -> list[Obj]:
    """The operator's ServiceAccount in ``namespace`` of the hub and what it may do."""
    return [
        _service_account(NAME, namespace),
        _role("ClusterRole", NAME, None, hub_rules()),
        _binding("ClusterRole", NAME, None, namespace, NAME),
        _role("Role", NAME, namespace, secret_rules()),
        _binding("Role", NAME, namespace, namespace, NAME),
    ]


def regional(namespace: str = "kube-system") -> list[Obj]:
    """A ServiceAccount for the operator in a regional cluster (its token goes into the
    kubeconfig Secret in the hub) and what it may do there."""
    return [
        _service_account(REGIONAL_NAME, namespace),
        _role("ClusterRole", REGIONAL_NAME, None, regional_rules()),
        _binding("ClusterRole", REGIONAL_NAME, None, namespace, REGIONAL_NAME),
    ]
