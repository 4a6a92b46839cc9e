"""The ``Region`` and ``Drop`` custom resource definitions, generated from the resource models.

Pure builders of apiextensions/v1 objects. The schema of spec and status is
:mod:`gavel.resources` converted by :mod:`gavel_operator.openapi`: descriptions, bounds,
defaults and CEL rules are declared once, on the models. ``crds/*.yaml`` and the Helm chart's
copy are generated from here (``gavel operator crds --write crds/ --write
charts/gavel-operator/crds/``) and unit tests fail when they differ.
"""

from __future__ import annotations

from typing import Any

from gavel.resources.drop import Drop
from gavel.resources.fields import Resource
from gavel.resources.names import DROPS, GROUP, REGIONS, VERSION
from gavel.resources.region import Region
from gavel_operator.openapi import Schema, object_schema, property_of

__all__ = ["GROUP", "VERSION", "all_crds", "drop_crd", "region_crd"]


def region_crd() -> dict[str, Any]:
    return _crd(
        Region,
        REGIONS,
        "Cluster",
        ["rg"],
        columns=[
            _column("Reachable", "boolean", ".status.reachable"),
            _column("Available", "string", '.status.conditions[?(@.type=="Available")].status'),
            _column("Namespace", "string", ".spec.namespace"),
            _column("Gateways", "integer", ".status.minReplicas.gateway"),
            _column("Fanouts", "integer", ".status.minReplicas.fanout"),
            _column("Kafka", "string", ".spec.endpoints.kafkaBootstrap", priority=1),
            _column("Age", "date", ".metadata.creationTimestamp"),
        ],
    )


def drop_crd() -> dict[str, Any]:
    return _crd(
        Drop,
        DROPS,
        "Namespaced",
        ["drp"],
        columns=[
            _column("Phase", "string", ".status.phase"),
            _column("Price", "integer", ".status.highBid"),
            _column("Starts", "date", ".spec.startsAt"),
            _column("Ends", "date", ".spec.endsAt"),
            _column("Regions", "string", ".status.regionsReady"),
            _column("Home", "string", ".spec.homeRegion", priority=1),
        ],
    )


def _column(name: str, kind: str, path: str, priority: int = 0) -> dict[str, Any]:
    column: dict[str, Any] = {"name": name, "type": kind, "jsonPath": path}
    if priority:
        column["priority"] = priority
    return column


def _root(model: type[Resource]) -> Schema:
    """The object's schema: Kubernetes' own fields as bare types, then ours; the model's CEL
    rules are the transition rules across spec and status."""
    root: Schema = {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": property_of(model, "spec"),
            "status": property_of(model, "status"),
        },
        "required": ["spec"],
    }
    rules = object_schema(model).get("x-kubernetes-validations")
    if rules:
        root["x-kubernetes-validations"] = rules
    return root


def _crd(
    model: type[Resource],
    plural: str,
    scope: str,
    short: list[str],
    *,
    columns: list[dict[str, Any]],
) -> dict[str, Any]:
    kind = model.__name__
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
                    "schema": {"openAPIV3Schema": _root(model)},
                }
            ],
        },
    }


def all_crds() -> dict[str, dict[str, Any]]:
    """File name in ``crds/`` -> CRD object."""
    return {"regions.gavel.dev.yaml": region_crd(), "drops.gavel.dev.yaml": drop_crd()}
