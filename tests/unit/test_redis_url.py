"""The one URL of a region's Redis: a single server or a Sentinel service."""

from __future__ import annotations

import pytest

from gavel import redis_url
from gavel.redis_url import RedisUrlError, SentinelService, SingleServer


def test_single_server_urls_pass_through() -> None:
    assert redis_url.parse("redis://127.0.0.1:6379/0") == SingleServer("redis://127.0.0.1:6379/0")
    assert redis_url.parse("rediss://r.example:6380") == SingleServer("rediss://r.example:6380")
    assert not redis_url.has_replicas("redis://127.0.0.1:6379/0")


def test_sentinel_url_lists_every_sentinel_service_and_db() -> None:
    got = redis_url.parse("redis+sentinel://10.0.0.1:26379,s2.local:26380,[::1]:1/gavel-us/3")
    assert got == SentinelService(
        (("10.0.0.1", 26379), ("s2.local", 26380), ("::1", 1)), "gavel-us", 3
    )
    assert redis_url.parse("redis+sentinel://h:1/svc") == SentinelService((("h", 1),), "svc", 0)
    assert redis_url.has_replicas("redis+sentinel://h:1/svc")


def test_sentinel_url_round_trips() -> None:
    url = redis_url.sentinel_url([("127.0.0.1", 1), ("127.0.0.1", 2)], "gavel-eu", 0)
    assert url == "redis+sentinel://127.0.0.1:1,127.0.0.1:2/gavel-eu/0"
    assert redis_url.parse(url) == SentinelService(
        (("127.0.0.1", 1), ("127.0.0.1", 2)), "gavel-eu", 0
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("127.0.0.1:6379", "not a URL"),
        ("http://h:1/x", "unknown scheme"),
        ("redis+sentinel:///svc", "no Sentinel host"),
        ("redis+sentinel://h/svc", "expected HOST:PORT"),
        ("redis+sentinel://h:0/svc", "bad port"),
        ("redis+sentinel://h:70000/svc", "bad port"),
        ("redis+sentinel://h:x/svc", "bad port"),
        ("redis+sentinel://h:1", "no valid service"),
        ("redis+sentinel://h:1/", "no valid service"),
        ("redis+sentinel://h:1/bad name", "no valid service"),
        ("redis+sentinel://h:1/svc/db", "bad database"),
        ("redis+sentinel://h:1/svc/0/extra", "bad database"),
        ("redis+sentinel://h:1,/svc", "expected HOST:PORT"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, says: str) -> None:
    with pytest.raises(RedisUrlError, match=says):
        redis_url.parse(url)


def test_sentinel_url_carries_credentials_for_sentinels_and_nodes() -> None:
    url = redis_url.with_credentials("redis+sentinel://h:1,h:2/svc/0", "gavel-gateway", "p@ss:w/d")
    assert url == "redis+sentinel://gavel-gateway:p%40ss%3Aw%2Fd@h:1,h:2/svc/0"
    got = redis_url.parse(url)
    assert got == SentinelService((("h", 1), ("h", 2)), "svc", 0, "gavel-gateway", "p@ss:w/d")


def test_with_credentials_replaces_what_the_url_carried() -> None:
    url = redis_url.with_credentials("redis://old:pw@h:1/0", "gavel-relay", "new")
    assert url == "redis://gavel-relay:new@h:1/0"
    assert redis_url.without_credentials(url) == "redis://gavel-relay:***@h:1/0"


def test_a_sentinel_url_with_a_user_but_no_password_is_refused() -> None:
    with pytest.raises(RedisUrlError, match="USER:PASSWORD@"):
        redis_url.parse("redis+sentinel://onlyuser@h:1/svc")


def test_an_error_about_a_url_never_shows_its_password() -> None:
    with pytest.raises(RedisUrlError) as caught:
        redis_url.parse("redis+sentinel://gavel-gateway:s3cret@h:notaport/svc")
    assert "s3cret" not in str(caught.value)
    assert "gavel-gateway:***@" in str(caught.value)
