"""Pieces every rendered regional object shares: labels, metadata, Services, budgets. Pure.

Used by :mod:`gavel_operator.rendering` (the region's workloads) and
:mod:`gavel_operator.rendering_redis` (its Redis and Sentinels), so both label and name their
objects the same way; the operator selects its objects by these labels.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

MANAGER = "gavel-operator"
"""The field manager of every server-side apply, and the ``managed-by`` label."""


def labels(region: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/part-of": "gavel",
        "app.kubernetes.io/managed-by": MANAGER,
        "gavel.dev/region": region,
    }


def meta(name: str, ns: str, region: str, component: str) -> Obj:
    return {"name": name, "namespace": ns, "labels": labels(region, component)}


def service(
    region: str,
    ns: str,
    component: str,
    port: int,
    *,
    headless: bool = False,
    publish_not_ready: bool = False,
) -> Obj:
    """The Service ``gavel-<component>`` in front of the component's pods."""
    spec: Obj = {
        "selector": labels(region, component),
        "ports": [{"name": "main", "port": port, "targetPort": port}],
    }
    if headless:
        spec["clusterIP"] = "None"
    if publish_not_ready:
        # Pods find each other by name before they are ready (a replica syncing from a
        # primary that is still loading its data, Sentinels meeting their peers).
        spec["publishNotReadyAddresses"] = True
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(f"gavel-{component}", ns, region, component),
        "spec": spec,
    }


def pdb(region: str, ns: str, component: str) -> Obj:
    """At most one pod of the component evicted at a time (drains, upgrades)."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(f"gavel-{component}", ns, region, component),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels(region, component)}},
    }


def mount_secret_where(
    objects: list[Obj], env_var: str, secret: str, volume: str, mount_dir: str
) -> list[Obj]:
    """Mount ``secret`` read-only at ``mount_dir`` into every Deployment container whose env
    names ``env_var`` (a CA file its client reads); changes ``objects`` in place."""
    for obj in objects:
        if obj.get("kind") != "Deployment":
            continue
        pod = obj["spec"]["template"]["spec"]
        users = [
            c for c in pod["containers"] if any(e["name"] == env_var for e in c.get("env", []))
        ]
        for container in users:
            mount = {"name": volume, "mountPath": mount_dir, "readOnly": True}
            container["volumeMounts"] = [*container.get("volumeMounts", []), mount]
        if users:
            pod["volumes"] = [
                *pod.get("volumes", []),
                {"name": volume, "secret": {"secretName": secret}},
            ]
    return objects
