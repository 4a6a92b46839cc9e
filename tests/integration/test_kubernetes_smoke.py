"""Kubernetes API servers on the local stack: CRD + custom object on the hub, every region up."""

from __future__ import annotations

import uuid

import pytest
from kubernetes import client, config

from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import poll

GROUP = "smoke.gavel.dev"


def _api(kubeconfig: str) -> client.ApiClient:
    return config.new_client_from_config(config_file=kubeconfig)


@pytest.fixture
def crd(stack: Stack) -> client.ApiClient:
    api = _api(stack.kubeconfig("hub"))
    ext = client.ApiextensionsV1Api(api)
    body = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"probes.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": "probes", "singular": "probe", "kind": "Probe"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {"price": {"type": "integer", "minimum": 0}},
                                }
                            },
                        }
                    },
                }
            ],
        },
    }
    try:
        ext.create_custom_resource_definition(body)
    except client.ApiException as exc:
        if exc.status != 409:
            raise

    def established() -> bool:
        got = ext.read_custom_resource_definition(f"probes.{GROUP}")
        return any(
            c.type == "Established" and c.status == "True" for c in got.status.conditions or []
        )

    poll(established, timeout_s=30, what=f"CRD probes.{GROUP} established", every_s=0.2)
    return api


def test_custom_object_round_trips_and_schema_is_enforced(crd: client.ApiClient) -> None:
    objs = client.CustomObjectsApi(crd)
    name = f"p-{uuid.uuid4().hex[:8]}"
    body = {
        "apiVersion": f"{GROUP}/v1",
        "kind": "Probe",
        "metadata": {"name": name},
        "spec": {"price": 1500},
    }
    objs.create_namespaced_custom_object(GROUP, "v1", "default", "probes", body)
    got = objs.get_namespaced_custom_object(GROUP, "v1", "default", "probes", name)
    assert got["spec"]["price"] == 1500
    bad = {**body, "metadata": {"name": name + "-bad"}, "spec": {"price": -1}}
    with pytest.raises(client.ApiException) as err:
        objs.create_namespaced_custom_object(GROUP, "v1", "default", "probes", bad)
    assert err.value.status == 422
    objs.delete_namespaced_custom_object(GROUP, "v1", "default", "probes", name)


def test_every_region_answers_with_its_namespaces(stack: Stack) -> None:
    for cluster in ["hub", *stack.regions]:
        names = {
            ns.metadata.name
            for ns in client.CoreV1Api(_api(stack.kubeconfig(cluster))).list_namespace().items
        }
        assert {"default", "kube-system"} <= names, cluster
