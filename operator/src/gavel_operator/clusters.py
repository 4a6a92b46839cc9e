"""Connections to the regional clusters, from each Region's ``spec.cluster``. I/O adapter.

Called (in worker threads) by the Region and Drop reconcilers. A Region names either a
kubeconfig Secret in the operator's namespace or ``inCluster: true`` (the operator's own
cluster). Secrets are read with a single GET when a connection is first needed and again after
:data:`SECRET_TTL_S`, so a rotated kubeconfig is picked up within a minute; the operator never
lists or watches Secrets, which keeps its RBAC to ``get`` on the few it is told about.
"""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass

import yaml

from gavel.resources.region import ClusterRef
from gavel_operator import kube

SECRET_TTL_S = 60.0


class ClusterConfigError(RuntimeError):
    """The Region's cluster reference cannot work as it stands (Secret or key missing, not a
    kubeconfig); retrying helps only once someone fixes it."""


@dataclass(slots=True)
class _Cached:
    kube: kube.Kube
    source: tuple[str, str, str]
    expires: float


class Clusters:
    """Kube clients per region, over the hub client that reads their Secrets."""

    def __init__(self, hub: kube.Kube, namespace: str) -> None:
        self.hub, self.namespace = hub, namespace
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def for_region(self, region: str, cluster: ClusterRef) -> kube.Kube:
        if cluster.in_cluster:
            return self.hub
        ref = cluster.kubeconfig_secret_ref
        source = (self.namespace, ref.name, ref.key) if ref else (self.namespace, "", "")
        with self._lock:
            cached = self._cache.get(region)
            if cached and cached.source == source and cached.expires > time.monotonic():
                return cached.kube
        fresh = self._connect(region, source)
        with self._lock:
            old = self._cache.get(region)
            self._cache[region] = _Cached(fresh, source, time.monotonic() + SECRET_TTL_S)
        if old is not None:
            old.kube.close()
        return fresh

    def forget(self, region: str) -> None:
        """Drop a region's client, e.g. after its credentials were refused."""
        with self._lock:
            cached = self._cache.pop(region, None)
        if cached is not None:
            cached.kube.close()

    def _connect(self, region: str, source: tuple[str, str, str]) -> kube.Kube:
        namespace, name, key = source
        secret = self.hub.get(kube.path("v1", "Secret", name, namespace))
        if secret is None:
            raise ClusterConfigError(f"Secret {namespace}/{name} with the kubeconfig is missing")
        encoded = (secret.get("data") or {}).get(key)
        if not encoded:
            raise ClusterConfigError(f"Secret {namespace}/{name} has no key {key!r}")
        try:
            kubeconfig = yaml.safe_load(base64.b64decode(encoded))
            return kube.Kube.from_kubeconfig(kubeconfig, region)
        except Exception as exc:
            raise ClusterConfigError(
                f"Secret {namespace}/{name} key {key!r} is not a usable kubeconfig: {exc}"
            ) from exc

    def close(self) -> None:
        with self._lock:
            cached, self._cache = list(self._cache.values()), {}
        for c in cached:
            c.kube.close()
