from __future__ import annotations

import pytest

from gavel_operator.kube import KINDS, KubeError, path, path_of
from gavel_operator.rendering import drop_record, render_region
from tests.unit.gavel_operator.test_rendering import example_regions
from tests.unit.resources.samples import drop_spec


def test_paths_of_namespaced_and_cluster_objects() -> None:
    assert path("v1", "Namespace", "gavel") == "/api/v1/namespaces/gavel"
    assert (
        path("apps/v1", "Deployment", "gavel-gateway", "gavel")
        == "/apis/apps/v1/namespaces/gavel/deployments/gavel-gateway"
    )
    with pytest.raises(ValueError, match="needs a namespace"):
        path("v1", "ConfigMap", "x")


def test_every_rendered_kind_has_a_path() -> None:
    regions = example_regions()
    objects = [*render_region(regions[0], regions), drop_record("d", "ns", drop_spec(), regions[0])]
    for obj in objects:
        assert (obj["apiVersion"], obj["kind"]) in KINDS
        assert path_of(obj).endswith("/" + obj["metadata"]["name"])


@pytest.mark.parametrize(
    ("status", "retryable", "refused"),
    [
        (409, True, False),
        (429, True, False),
        (503, True, False),
        (403, False, True),
        (422, False, False),
    ],
)
def test_error_classes(status: int, retryable: bool, refused: bool) -> None:
    err = KubeError(status, "Reason", "message")
    assert (err.retryable, err.refused) == (retryable, refused)
