from __future__ import annotations

import pytest

from gavel import endpoints
from gavel.redis_acl import Role

ENV = {
    "GAVEL_REGIONS": "us,eu",
    "REDIS_URL_US": "redis://us:6379/0",
    "REDIS_URL_EU": "redis://eu:6379/0",
    "KAFKA_BOOTSTRAP_US": "us:9092",
    "CASSANDRA_CONTACT": "cass:9042",
    "CASSANDRA_DC": "us",
    "GAVEL_JWKS": "https://idp/jwks",
    "GAVEL_TOKEN_ISSUER": "https://idp/",
    "GAVEL_TOKEN_MINT_URL": "http://127.0.0.1:1/mint",
    "KUBECONFIG_HUB": "/etc/hub.kubeconfig",
}


def test_each_reader_reads_its_variable() -> None:
    assert endpoints.regions(ENV) == ["us", "eu"]
    assert endpoints.redis_url("us", ENV) == "redis://us:6379/0"
    assert endpoints.kafka_bootstrap("us", ENV) == "us:9092"
    assert endpoints.cassandra_contact(ENV) == "cass:9042"
    assert endpoints.cassandra_dc(ENV) == "us"
    assert endpoints.jwks(ENV) == "https://idp/jwks"
    assert endpoints.token_issuer(ENV) == "https://idp/"
    assert endpoints.token_mint_url(ENV) == "http://127.0.0.1:1/mint"
    assert endpoints.hub_kubeconfig(ENV) == "/etc/hub.kubeconfig"


def test_per_region_names_are_upper_case_and_redis_urls_reads_them_back() -> None:
    assert endpoints.redis_url_var("eu") == "REDIS_URL_EU"
    assert endpoints.kafka_bootstrap_var("eu") == "KAFKA_BOOTSTRAP_EU"
    env = {endpoints.redis_url_var(r): f"redis://{r}" for r in ("us", "ap")}
    assert endpoints.redis_urls({**env, "REDIS_URL_IN": ""}) == {
        "us": "redis://us",
        "ap": "redis://ap",
    }


def test_a_missing_variable_names_itself_and_the_flag_and_never_the_dev_stack() -> None:
    with pytest.raises(endpoints.MissingEndpointError) as caught:
        endpoints.kafka_bootstrap("eu", ENV, flag="--kafka-bootstrap")
    assert str(caught.value) == (
        "KAFKA_BOOTSTRAP_EU is not set: set it in the environment or pass --kafka-bootstrap"
    )
    with pytest.raises(endpoints.MissingEndpointError, match=r"or pass --cassandra-dc$"):
        endpoints.cassandra_dc({})
    with pytest.raises(endpoints.MissingEndpointError) as caught:
        endpoints.token_mint_url({})
    assert str(caught.value) == "GAVEL_TOKEN_MINT_URL is not set: set it in the environment"
    assert "stack" not in str(caught.value)


def test_a_role_logs_in_with_its_own_variable_and_nothing_else() -> None:
    env = {**ENV, "REDIS_AUTH_GATEWAY": "gavel-gateway:pw", "REDIS_AUTH_RELAY": "gavel-relay:x"}
    assert endpoints.redis_auth_var(Role.GATEWAY) == "REDIS_AUTH_GATEWAY"
    assert endpoints.redis_url("us", env, role=Role.GATEWAY) == "redis://gavel-gateway:pw@us:6379/0"
    assert endpoints.redis_urls(env, role=Role.RELAY)["eu"] == "redis://gavel-relay:x@eu:6379/0"
    # A role without a variable uses the URL as it is; so does a caller naming no role.
    assert endpoints.redis_url("us", env, role=Role.FANOUT) == "redis://us:6379/0"
    assert endpoints.redis_url("us", env) == "redis://us:6379/0"


def test_a_login_without_a_colon_is_refused_with_its_variable_named() -> None:
    with pytest.raises(endpoints.MissingEndpointError, match="REDIS_AUTH_GATEWAY must be USER"):
        endpoints.redis_url("us", {**ENV, "REDIS_AUTH_GATEWAY": "nocolon"}, role=Role.GATEWAY)
