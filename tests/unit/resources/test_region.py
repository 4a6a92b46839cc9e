from __future__ import annotations

import pytest
from pydantic import ValidationError

from gavel.resources.region import COMPONENTS, Region, RegionSpec, RegionStatus
from tests.unit.resources.samples import region, region_spec


def test_defaults_are_the_models() -> None:
    spec = region_spec()
    assert spec.namespace == "gavel"
    assert (spec.baseline.gateway, spec.baseline.fanout) == (2, 2)
    assert spec.endpoints.cassandra.data_center is None
    ref = region_spec(cluster={"kubeconfigSecretRef": {"name": "s"}}).cluster
    assert ref.kubeconfig_secret_ref is not None
    assert (ref.in_cluster, ref.kubeconfig_secret_ref.key) == (None, "kubeconfig")


def test_camel_case_keys_as_in_the_crd() -> None:
    spec = region_spec(capacity={"observersPerFanoutPod": 5, "bidsPerSecondPerGatewayPod": 7})
    assert spec.capacity.observers_per_fanout_pod == 5
    assert spec.endpoints.redis_url == "redis://us:6379/0"
    status = RegionStatus.model_validate({"minReplicas": {"gateway": 3}, "reachable": False})
    assert status.min_replicas is not None
    assert (status.min_replicas.gateway, status.min_replicas.fanout) == (3, None)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"endpoints": {"kafkaBootstrap": "k:9092"}}, "redisUrl"),
        (
            {"capacity": {"observersPerFanoutPod": 0, "bidsPerSecondPerGatewayPod": 1}},
            "greater than",
        ),
        ({"capacity": {"observersPerFanoutPod": "5", "bidsPerSecondPerGatewayPod": 1}}, "int"),
        ({"namespace": "Not_A_Label"}, "pattern"),
        ({"resources": {"gateway": {"limits": {"cpu": "lots"}}}}, "pattern"),
        ({"redis": {"replicas": 6}}, "less than or equal to 5"),
        ({"redis": {"replicas": -1}}, "greater than or equal to 0"),
    ],
)
def test_what_the_crd_refuses_the_model_refuses(change: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        RegionSpec.model_validate(region() | change)


def test_resources_per_component_as_set() -> None:
    spec = region_spec(resources={"outboxShipper": {"limits": {"cpu": "1"}}})
    assert spec.resources.of("outboxShipper") == {"limits": {"cpu": "1"}}
    assert spec.resources.of("gateway") == {}
    assert COMPONENTS == (
        "gateway",
        "outboxShipper",
        "fanout",
        "relay",
        "auditWriter",
        "redis",
        "redisSentinel",
        "mirrormaker",
    )


def test_a_whole_region_object() -> None:
    got = Region.model_validate(
        {"metadata": {"name": "eu", "generation": 3}, "spec": region("eu"), "status": {}}
    )
    assert (got.metadata.name, got.metadata.generation) == ("eu", 3)
    assert got.status == RegionStatus()


def test_redis_defaults_to_a_primary_with_two_replicas() -> None:
    assert region_spec().redis.replicas == 2
    assert region_spec(redis={"replicas": 0}).redis.replicas == 0


@pytest.mark.parametrize(
    "url",
    [
        "redis://us:6379/0",
        "rediss://us:6380/1",
        "redis+sentinel://s0.gavel.svc:26379,s1.gavel.svc:26379,10.0.0.7:26379/gavel/0",
        "redis+sentinel://s0:26379/gavel",
    ],
)
def test_a_region_redis_is_one_server_or_sentinels(url: str) -> None:
    endpoints = region()["endpoints"] | {"redisUrl": url}
    assert region_spec(endpoints=endpoints).endpoints.redis_url == url


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis+sentinel://s0/gavel/0", "HOST:PORT"),  # no port
        ("redis+sentinel://s0:26379/", "HOST:PORT"),  # no service
        ("redis+sentinel://s0:26379,/gavel", "HOST:PORT"),  # an empty host
        ("redis+sentinel://s0:26379/gavel/zero", "HOST:PORT"),
        ("http://us:6379/0", "pattern"),
    ],
)
def test_a_malformed_redis_url_is_refused_saying_its_shape(url: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        RegionSpec.model_validate(
            region() | {"endpoints": region()["endpoints"] | {"redisUrl": url}}
        )
