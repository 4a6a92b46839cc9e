"""The CRDs on a real API server: examples apply as they are, bad specs are refused by the
schema and CEL with a clear message, and a live drop's rules are frozen."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from kubernetes import client, config

from gavel_devstack.harness.stack_env import Stack
from gavel_operator import crds
from tests.support.hub import install_crds

ROOT = Path(__file__).resolve().parents[3]
NS = "default"


@pytest.fixture(scope="module")
def api(stack: Stack) -> client.CustomObjectsApi:
    api_client = config.new_client_from_config(config_file=stack.kubeconfig("hub"))
    install_crds(api_client)
    return client.CustomObjectsApi(api_client)


def example_drop() -> dict[str, Any]:
    drop = yaml.safe_load((ROOT / "examples" / "drop.yaml").read_text())
    drop["metadata"] = {"name": f"d-{uuid.uuid4().hex[:8]}"}
    return drop


def create_drop(api: client.CustomObjectsApi, body: dict[str, Any]) -> dict[str, Any]:
    created = api.create_namespaced_custom_object(crds.GROUP, crds.VERSION, NS, "drops", body)
    return cast(dict[str, Any], created)


def refused(api: client.CustomObjectsApi, body: dict[str, Any]) -> str:
    with pytest.raises(client.ApiException) as err:
        create_drop(api, body)
    assert err.value.status == 422, err.value.body
    return str(err.value.body)


def test_examples_apply_as_they_are(api: client.CustomObjectsApi) -> None:
    for doc in yaml.safe_load_all((ROOT / "examples" / "regions.yaml").read_text()):
        name = doc["metadata"]["name"]
        try:
            api.create_cluster_custom_object(crds.GROUP, crds.VERSION, "regions", doc)
        except client.ApiException as exc:
            if exc.status != 409:  # 409: an earlier run created it
                raise
        got = api.get_cluster_custom_object(crds.GROUP, crds.VERSION, "regions", name)
        assert got["spec"]["baseline"] == {"gateway": 2, "fanout": 2}
    created = create_drop(api, example_drop())
    assert created["spec"]["cancelled"] is False  # defaulted


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["spec"].update(endsAt="2025-01-01T00:00:00Z"),
            "endsAt must be after startsAt",
        ),
        (lambda d: d["spec"].update(homeRegion="ap"), "homeRegion must be one of regions"),
        (
            lambda d: d["spec"]["auction"]["increments"].reverse(),
            "the first increment tier must start from 0",
        ),
        (
            lambda d: d["spec"]["auction"]["increments"].append({"from": 500, "step": 1}),
            "increment tiers must be sorted",
        ),
        (
            lambda d: d["spec"]["auction"]["increments"].append({"from": 0, "step": 1}),
            "must not repeat",
        ),
        (lambda d: d["spec"]["auction"].update(startPrice=-1), "startPrice"),
        (lambda d: d["spec"]["auction"].update(startPrice=10.5), "startPrice"),
        (lambda d: d["spec"]["auction"].update(currency="euro"), "currency"),
        (lambda d: d["spec"]["preScale"].update(leadSeconds=90_000), "leadSeconds"),
        (
            lambda d: d["spec"]["auction"]["softClose"].update(hardStopAt="2029-01-01T00:00:00Z"),
            "hardStopAt must not be before endsAt",
        ),
    ],
)
def test_bad_drops_are_refused_with_a_clear_message(
    api: client.CustomObjectsApi,
    change: Any,
    message: str,
) -> None:
    drop = example_drop()
    change(drop)
    assert message in refused(api, drop)


def test_region_needs_exactly_one_way_to_reach_its_cluster(
    api: client.CustomObjectsApi,
) -> None:
    doc = next(yaml.safe_load_all((ROOT / "examples" / "regions.yaml").read_text()))
    doc = copy.deepcopy(doc)
    doc["metadata"]["name"] = f"r-{uuid.uuid4().hex[:6]}"
    doc["spec"]["cluster"]["inCluster"] = True
    with pytest.raises(client.ApiException) as err:
        api.create_cluster_custom_object(crds.GROUP, crds.VERSION, "regions", doc)
    assert "set exactly one of" in str(err.value.body)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"endpoints": {"redisUrl": "redis+sentinel://s0.gavel.svc/gavel/0"}},
            "redis+sentinel://HOST:PORT[,HOST:PORT...]/SERVICE[/DB]",
        ),
        ({"endpoints": {"redisUrl": "memcached://m:11211"}}, "spec.endpoints.redisUrl"),
        ({"redis": {"replicas": 6}}, "spec.redis.replicas"),
    ],
)
def test_a_regions_redis_is_checked(
    api: client.CustomObjectsApi, change: dict[str, dict[str, Any]], message: str
) -> None:
    doc = copy.deepcopy(next(yaml.safe_load_all((ROOT / "examples" / "regions.yaml").read_text())))
    doc["metadata"]["name"] = f"r-{uuid.uuid4().hex[:6]}"
    good = copy.deepcopy(doc)
    good["spec"]["endpoints"]["redisUrl"] = "redis+sentinel://s0:26379,s1:26379,s2:26379/gavel/0"
    good["spec"]["redis"] = {"replicas": 1}
    api.create_cluster_custom_object(crds.GROUP, crds.VERSION, "regions", good)
    api.delete_cluster_custom_object(crds.GROUP, crds.VERSION, "regions", good["metadata"]["name"])
    for key, value in change.items():
        doc["spec"][key] = doc["spec"].get(key, {}) | value
    with pytest.raises(client.ApiException) as err:
        api.create_cluster_custom_object(crds.GROUP, crds.VERSION, "regions", doc)
    assert err.value.status == 422, err.value.body
    assert message in str(err.value.body)


def test_a_regions_redis_gains_replicas_but_never_drops_back_to_one_server(
    api: client.CustomObjectsApi,
) -> None:
    doc = copy.deepcopy(next(yaml.safe_load_all((ROOT / "examples" / "regions.yaml").read_text())))
    name = doc["metadata"]["name"] = f"r-{uuid.uuid4().hex[:6]}"
    doc["spec"]["redis"] = {"replicas": 0}
    api.create_cluster_custom_object(crds.GROUP, crds.VERSION, "regions", doc)
    try:
        for replicas in (2, 1):
            patch = {"spec": {"redis": {"replicas": replicas}}}
            api.patch_cluster_custom_object(crds.GROUP, crds.VERSION, "regions", name, patch)
        single = {"spec": {"redis": {"replicas": 0}}}
        with pytest.raises(client.ApiException) as err:
            api.patch_cluster_custom_object(crds.GROUP, crds.VERSION, "regions", name, single)
        assert err.value.status == 422, err.value.body
        assert "redis.replicas cannot go back to 0" in str(err.value.body)
    finally:
        api.delete_cluster_custom_object(crds.GROUP, crds.VERSION, "regions", name)


def test_a_live_drop_freezes_its_rules(api: client.CustomObjectsApi) -> None:
    drop = create_drop(api, example_drop())
    name = drop["metadata"]["name"]

    def patch(spec: dict[str, Any]) -> None:
        api.patch_namespaced_custom_object(
            crds.GROUP, crds.VERSION, NS, "drops", name, {"spec": spec}
        )

    patch({"auction": {"startPrice": 90_000}})  # not live yet: allowed
    api.patch_namespaced_custom_object_status(
        crds.GROUP, crds.VERSION, NS, "drops", name, {"status": {"phase": "Live"}}
    )
    for spec, message in [
        ({"auction": {"startPrice": 1}}, "spec.auction is frozen once the drop is live"),
        ({"startsAt": "2026-02-01T00:00:00Z"}, "spec.startsAt and spec.homeRegion are frozen"),
        ({"endsAt": "2029-06-01T00:00:00Z"}, "spec.endsAt may only move later"),
    ]:
        with pytest.raises(client.ApiException) as err:
            patch(spec)
        assert message in str(err.value.body)
    patch({"endsAt": "2030-06-01T00:00:00Z"})  # later: allowed
    patch({"cancelled": True})
    with pytest.raises(client.ApiException) as err:
        patch({"cancelled": False})
    assert "a cancelled drop cannot be reopened" in str(err.value.body)
