"""The TLS settings of Redis clients (connecting is covered by the integration tests)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from gavel import redis_client
from tests.unit.tls import CA_NAME, write_ca


def test_plain_urls_get_no_tls_options_even_with_a_ca() -> None:
    assert redis_client.tls_options("redis://h:6379/0", "/ca.crt") == {}


def test_a_rediss_url_verifies_the_server_against_the_given_ca() -> None:
    assert redis_client.tls_options("rediss://h:6379/0", "/ca.crt") == {
        "ssl_cert_reqs": "required",
        "ssl_check_hostname": True,
        "ssl_ca_certs": "/ca.crt",
    }
    # Without a CA file: still verified, against the system's trust store.
    assert "ssl_ca_certs" not in redis_client.tls_options("rediss://h:6379/0", None)


def test_the_ca_comes_from_redis_ca_file() -> None:
    assert redis_client.ca_file({"REDIS_CA_FILE": "/etc/gavel/redis-ca/ca.crt"}) == (
        "/etc/gavel/redis-ca/ca.crt"
    )
    assert redis_client.ca_file({}) is None


def test_a_rediss_client_carries_the_ca(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = str(write_ca(tmp_path / "ca.crt"))
    monkeypatch.setenv("REDIS_CA_FILE", ca)
    client = redis_client.connect("rediss://h:6380/0")
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["ssl_ca_certs"], kwargs["ssl_cert_reqs"]) == (ca, "required")


async def test_a_raw_connection_to_a_rediss_server_trusts_the_same_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = str(write_ca(tmp_path / "ca.crt"))
    monkeypatch.setenv("REDIS_CA_FILE", ca)
    endpoint = await redis_client.PrimaryLocator("rediss://h:6380/0")()
    assert (endpoint.tls, endpoint.ca_file) == (True, ca)
    context = redis_client.ssl_context(endpoint.ca_file)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", CA_NAME),),)]
