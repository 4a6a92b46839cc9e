"""Smallest valid Region and Drop specs, for tests of the models and of their readers."""

from __future__ import annotations

from typing import Any

from gavel.resources.drop import DropSpec
from gavel.resources.region import RegionSpec

DROP: dict[str, Any] = {
    "homeRegion": "us",
    "startsAt": "2030-01-01T00:00:00Z",
    "endsAt": "2030-01-01T01:00:00Z",
    "auction": {"currency": "EUR", "startPrice": 100, "increments": [{"from": 0, "step": 10}]},
}


def region(name: str = "us") -> dict[str, Any]:
    return {
        "cluster": {"inCluster": True},
        "endpoints": {
            "kafkaBootstrap": f"kafka-{name}:9092",
            "redisUrl": f"redis://{name}:6379/0",
            "cassandra": {"contactPoints": f"cassandra-{name}:9042"},
        },
        "capacity": {"observersPerFanoutPod": 1_000, "bidsPerSecondPerGatewayPod": 100},
        "bidderTokens": {"issuer": "https://idp.example/", "jwksUrl": "https://idp.example/jwks"},
    }


def drop_spec(**fields: Any) -> DropSpec:
    """:data:`DROP` with ``fields`` (camelCase keys) replaced."""
    return DropSpec.model_validate(DROP | fields)


def region_spec(name: str = "us", **fields: Any) -> RegionSpec:
    """A Region named ``name`` with ``fields`` (camelCase keys) replaced."""
    return RegionSpec.model_validate(region(name) | fields)
