"""Enrol a regional cluster with the hub: what ``gavel operator enrol`` does.

Called by the CLI with an admin's access to the regional cluster and access to the hub. In the
regional cluster it applies the operator's regional RBAC (:func:`gavel_operator.rbac.regional`)
and requests a token for that ServiceAccount; in the hub it stores a kubeconfig with that token
as the Secret a Region's ``spec.cluster.kubeconfigSecretRef`` names. The admin's credentials
never leave the machine running the command. Run it again to rotate the token.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from gavel_operator import kube, rbac
from gavel_operator.rendering_parts import MANAGER

Obj = dict[str, Any]
ACCOUNT_NAMESPACE = "kube-system"


def secret_name(region: str) -> str:
    return f"gavel-region-{region}"


def kubeconfig_for(region: str, server: str, ca: bytes | None, token: str) -> Obj:
    """A self-contained kubeconfig (CA inlined): the Secret must work on any machine. Pure."""
    cluster: Obj = {"server": server}
    if ca:
        cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
    user = f"{rbac.REGIONAL_NAME}@{region}"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": region, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": region, "context": {"cluster": region, "user": user}}],
        "current-context": region,
    }


def kubeconfig_secret(region: str, namespace: str, kubeconfig: Obj) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name(region),
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "gavel", "gavel.dev/region": region},
        },
        "type": "Opaque",
        "stringData": {"kubeconfig": json.dumps(kubeconfig, indent=2)},
    }


def enrol(
    region: str, *, regional_admin: kube.Kube, hub: kube.Kube, namespace: str, ttl_s: int
) -> str:
    """Set the region up for the operator; returns ``namespace/secret`` written in the hub."""
    for obj in rbac.regional(ACCOUNT_NAMESPACE):
        regional_admin.apply(obj, MANAGER)
    account = kube.path("v1", "ServiceAccount", rbac.REGIONAL_NAME, ACCOUNT_NAMESPACE)
    answer = regional_admin.request(
        "POST",
        account + "/token",
        body={
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": ttl_s},
        },
    )
    server, ca = regional_admin.server_and_ca()
    config = kubeconfig_for(region, server, ca, answer["status"]["token"])
    hub.apply(kubeconfig_secret(region, namespace, config), MANAGER)
    return f"{namespace}/{secret_name(region)}"
