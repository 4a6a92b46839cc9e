"""The hub API server of the local stack with Gavel's CRDs installed, for integration tests.

Used by the CRD tests (tests/integration/gavel_operator/test_crds.py) and the merch console's
tests (tests/integration/console/): both need the Drop and Region kinds served, as the
operator's chart installs them.
"""

from __future__ import annotations

from functools import partial

from kubernetes import client

from gavel_devstack.harness.waiting import poll
from gavel_operator import crds


def established(ext: client.ApiextensionsV1Api, name: str) -> bool:
    conditions = ext.read_custom_resource_definition(name).status.conditions
    return any(c.type == "Established" and c.status == "True" for c in conditions or [])


def install_crds(api_client: client.ApiClient) -> None:
    """Create or replace every CRD and wait until the API server serves each."""
    ext = client.ApiextensionsV1Api(api_client)
    for wanted in crds.all_crds().values():
        name = wanted["metadata"]["name"]
        try:
            version = ext.read_custom_resource_definition(name).metadata.resource_version
            meta = {**wanted["metadata"], "resourceVersion": version}
            ext.replace_custom_resource_definition(name, {**wanted, "metadata": meta})
        except client.ApiException as exc:
            if exc.status != 404:
                raise
            ext.create_custom_resource_definition(wanted)
    for crd in crds.all_crds().values():
        name = crd["metadata"]["name"]
        poll(
            partial(established, ext, name),
            timeout_s=30,
            what=f"CRD {name} established",
            every_s=0.2,
        )
