"""Drops and Regions in the hub's API server, for the merch console. I/O adapter.

Called by :mod:`gavel.cli.drops_commands` (and through it by :mod:`.gather` and :mod:`.trail`
for where a drop lives). Built on the ``kubernetes`` package (kubeconfig, TLS, tokens). Every
failure becomes one of three errors a person can act on: the hub is unreachable (or the
kubeconfig unusable), the hub refused (its own message: the schema's and the CEL rules' words,
unchanged), or the drop does not exist. Requests have short timeouts and no retries: a person is
waiting at the terminal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

import urllib3
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from gavel.resources.names import DROPS, GROUP, REGIONS, VERSION

Obj = dict[str, Any]
FIELD_MANAGER = "gavel-console"
TIMEOUT_S = (3.0, 10.0)


class HubError(RuntimeError):
    """Something a person must fix before the console can go on; the message says what."""


class HubUnreachableError(HubError):
    """The hub did not answer, or its kubeconfig could not be used."""


class HubRefusedError(HubError):
    """The hub answered with an error; ``message`` is its own words (``Status.message``)."""

    def __init__(
        self, status: int, reason: str, message: str, causes: tuple[str, ...] = ()
    ) -> None:
        super().__init__(f"the hub refused it ({status} {reason}): {message}")
        self.status, self.reason, self.message, self.causes = status, reason, message, causes


class DropNotFoundError(HubError):
    """No Drop of that name in that namespace."""


@dataclass(frozen=True, slots=True)
class Applied:
    """What ``schedule`` did: created, updated or unchanged, and the object as stored."""

    outcome: str
    drop: Obj


def refusal(exc: client.ApiException) -> HubRefusedError:
    """The API server's answer as an error holding its own message. Pure."""
    try:
        body = json.loads(exc.body or "{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    causes = tuple(
        f"{c.get('field')}: {c.get('message')}" if c.get("field") else str(c.get("message"))
        for c in (body.get("details") or {}).get("causes") or ()
        if isinstance(c, dict)
    )
    return HubRefusedError(
        int(exc.status or 0),
        str(body.get("reason") or exc.reason or ""),
        str(body.get("message") or exc.body or exc.reason),
        causes,
    )


class Hub:
    """The hub cluster's API server, reached with one kubeconfig."""

    def __init__(self, kubeconfig: str) -> None:
        configuration = client.Configuration()
        try:
            config.load_kube_config(kubeconfig, client_configuration=configuration)
        except (ConfigException, OSError, ValueError, TypeError) as exc:
            raise HubUnreachableError(f"cannot use the kubeconfig {kubeconfig}: {exc}") from exc
        configuration.retries = 0
        self.server = str(configuration.host)
        self.api_client = client.ApiClient(configuration)
        self.api = client.CustomObjectsApi(self.api_client)

    def close(self) -> None:
        self.api_client.close()

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Obj:
        try:
            return cast(Obj, fn(*args, _request_timeout=TIMEOUT_S, **kwargs))
        except client.ApiException as exc:
            if exc.status == 0 or exc.status is None:
                raise HubUnreachableError(f"the hub at {self.server} did not answer") from exc
            raise refusal(exc) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise HubUnreachableError(
                f"cannot reach the hub at {self.server} ({what}): {type(exc).__name__}"
            ) from exc

    def get_drop(self, name: str, namespace: str) -> Obj:
        try:
            return self._call(
                "reading the drop",
                self.api.get_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                DROPS,
                name,
            )
        except HubRefusedError as exc:
            if exc.status == 404:
                raise DropNotFoundError(
                    f"no drop {name!r} in namespace {namespace!r} on the hub"
                ) from exc
            raise

    def list_drops(self, namespace: str | None) -> list[Obj]:
        """Drops of one namespace, or of every namespace (None)."""
        if namespace is None:
            found = self._call(
                "listing drops", self.api.list_cluster_custom_object, GROUP, VERSION, DROPS
            )
        else:
            found = self._call(
                "listing drops",
                self.api.list_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                DROPS,
            )
        return list(found.get("items") or [])

    def get_region(self, name: str) -> Obj | None:
        try:
            return self._call(
                "reading a region",
                self.api.get_cluster_custom_object,
                GROUP,
                VERSION,
                REGIONS,
                name,
            )
        except HubRefusedError as exc:
            if exc.status == 404:
                return None
            raise

    def apply_drop(self, drop: Obj, namespace: str) -> Applied:
        """Server-side apply of ``drop``: the console owns the spec fields it sends (forced, as
        ``kubectl apply --server-side --force-conflicts`` would); status stays the operator's."""
        name = drop["metadata"]["name"]
        body = {**drop, "metadata": {**drop["metadata"], "namespace": namespace}}
        try:
            before: Obj | None = self.get_drop(name, namespace)
        except DropNotFoundError:
            before = None
        after: Obj | None = self._call(
            "applying the drop",
            self.api.patch_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            DROPS,
            name,
            body,
            field_manager=FIELD_MANAGER,
            force=True,
            _content_type="application/apply-patch+yaml",
        )
        if after is None:  # the client decodes only a 200; a 201 Created comes back empty
            after = self.get_drop(name, namespace)
        if before is None:
            outcome = "created"
        elif before["metadata"].get("generation") == after["metadata"].get("generation"):
            outcome = "unchanged"
        else:
            outcome = "updated"
        return Applied(outcome, after)
