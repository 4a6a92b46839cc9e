"""A small blocking REST client for one Kubernetes cluster. I/O adapter.

Called from worker threads by :mod:`gavel_operator.clusters` and the reconcilers; kopf talks to
the hub cluster itself. Built on the ``kubernetes`` package's configuration and connection pool
(kubeconfig parsing, TLS, tokens) but speaks plain REST paths, because the operator only needs
four verbs on a fixed set of kinds: server-side apply, get, delete and the scale subresource.

Every request has a short timeout and no retries of its own: an unreachable region must fail
fast so the caller's backoff, not a stuck thread, decides when to try again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, config

Obj = dict[str, Any]

CONNECT_TIMEOUT_S, READ_TIMEOUT_S = 3.0, 15.0


class KubeError(RuntimeError):
    """The API server answered with an error."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status, self.reason, self.message = status, reason, message

    @property
    def retryable(self) -> bool:
        """Conflicts, throttling and server errors pass; a bad object will not."""
        return self.status in (409, 429) or self.status >= 500

    @property
    def refused(self) -> bool:
        """Authentication or authorization refused (wrong token, missing RBAC)."""
        return self.status in (401, 403)


class Unreachable(RuntimeError):  # noqa: N818 - a state, not an "Error" the API returned
    """The API server did not answer (refused, timed out, TLS failed)."""


@dataclass(frozen=True, slots=True)
class Kind:
    """Where a kind lives in the REST API."""

    prefix: str
    plural: str
    namespaced: bool = True


KINDS: dict[tuple[str, str], Kind] = {
    ("v1", "Namespace"): Kind("/api/v1", "namespaces", namespaced=False),
    ("v1", "ConfigMap"): Kind("/api/v1", "configmaps"),
    ("v1", "Service"): Kind("/api/v1", "services"),
    ("v1", "Secret"): Kind("/api/v1", "secrets"),
    ("apps/v1", "Deployment"): Kind("/apis/apps/v1", "deployments"),
    ("apps/v1", "StatefulSet"): Kind("/apis/apps/v1", "statefulsets"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): Kind(
        "/apis/autoscaling/v2", "horizontalpodautoscalers"
    ),
    ("policy/v1", "PodDisruptionBudget"): Kind("/apis/policy/v1", "poddisruptionbudgets"),
    ("v1", "ServiceAccount"): Kind("/api/v1", "serviceaccounts"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): Kind(
        "/apis/rbac.authorization.k8s.io/v1", "clusterroles", namespaced=False
    ),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): Kind(
        "/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", namespaced=False
    ),
}
"""The kinds the operator writes to regional clusters, reads from the hub (Secrets), and
``gavel operator enrol`` writes (the regional RBAC)."""


def path(api_version: str, kind: str, name: str, namespace: str | None = None) -> str:
    """The REST path of one object. Pure."""
    k = KINDS[(api_version, kind)]
    if k.namespaced:
        if not namespace:
            raise ValueError(f"{kind} {name} needs a namespace")
        return f"{k.prefix}/namespaces/{namespace}/{k.plural}/{name}"
    return f"{k.prefix}/{k.plural}/{name}"


def path_of(obj: Obj) -> str:
    meta = obj["metadata"]
    return path(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))


class Kube:
    """One cluster's API server."""

    def __init__(self, configuration: client.Configuration, label: str) -> None:
        # No retries inside urllib3 (its default is three): the reconcilers' backoff decides.
        configuration.retries = 0
        self.api, self.label = client.ApiClient(configuration), label

    @classmethod
    def from_kubeconfig(cls, kubeconfig: Obj, label: str) -> Kube:
        configuration = client.Configuration()
        config.load_kube_config_from_dict(kubeconfig, client_configuration=configuration)
        return cls(configuration, label)

    @classmethod
    def from_environment(cls, label: str = "hub") -> Kube:
        """The operator's own cluster: in-cluster credentials in a pod, else $KUBECONFIG."""
        configuration = client.Configuration()
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config(client_configuration=configuration)
        else:
            config.load_kube_config(
                os.environ.get("KUBECONFIG"), client_configuration=configuration
            )
        return cls(configuration, label)

    def close(self) -> None:
        self.api.close()

    def request(
        self,
        method: str,
        rest_path: str,
        *,
        body: Obj | None = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
    ) -> Obj:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        _, url, headers, payload, _ = self.api.param_serialize(
            method,
            rest_path,
            query_params=query or [],
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self.api.call_api(
                method,
                url,
                header_params=headers,
                body=payload,
                _request_timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
            )
            raw = response.read()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Unreachable(f"{self.label}: {type(exc).__name__}: {exc}") from exc
        data: Obj = json.loads(raw) if raw else {}
        if not 200 <= response.status < 300:
            raise KubeError(
                response.status,
                str(data.get("reason") or response.reason),
                str(data.get("message") or raw[:200]),
            )
        return data

    def server_and_ca(self) -> tuple[str, bytes | None]:
        """The API server URL and the CA bundle this client trusts (None: the system's)."""
        cfg = self.api.configuration
        ca = Path(cfg.ssl_ca_cert).read_bytes() if cfg.ssl_ca_cert else None
        return str(cfg.host), ca

    def get(self, rest_path: str) -> Obj | None:
        """The object, or None when it does not exist."""
        try:
            return self.request("GET", rest_path)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def apply(self, obj: Obj, manager: str) -> Obj:
        """Server-side apply: create or update the fields ``manager`` owns; taking over
        fields another manager set is deliberate (``force``): the operator is their owner."""
        return self.request(
            "PATCH",
            path_of(obj),
            body=obj,
            query=[("fieldManager", manager), ("force", "true")],
            content_type="application/apply-patch+yaml",
        )

    def delete(self, rest_path: str) -> bool:
        """Delete; False when it was already gone."""
        try:
            self.request("DELETE", rest_path)
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def raise_replicas(self, namespace: str, deployment: str, floor: int) -> int:
        """Raise a Deployment to ``floor`` replicas through its scale subresource, never lower
        it (the HPA scales down, gradually); returns the replicas it has now."""
        scale_path = path("apps/v1", "Deployment", deployment, namespace) + "/scale"
        scale = self.request("GET", scale_path)
        current = int(scale.get("spec", {}).get("replicas", 0))
        if current >= floor:
            return current
        # The resourceVersion makes this a compare-and-set: if the HPA scaled in between, the
        # API server answers 409 and the next reconcile looks again.
        self.request(
            "PATCH",
            scale_path,
            body={
                "metadata": {"resourceVersion": scale["metadata"]["resourceVersion"]},
                "spec": {"replicas": floor},
            },
            content_type="application/merge-patch+json",
        )
        return floor
