from __future__ import annotations

import pytest

from gavel.fanout.settings import FanoutSettings, parse_gateway_urls


def test_gateway_urls_are_region_url_pairs() -> None:
    assert parse_gateway_urls(["us=https://bid.us.example/", "eu=http://127.0.0.1:8080"]) == (
        ("us", "https://bid.us.example"),
        ("eu", "http://127.0.0.1:8080"),
    )


@pytest.mark.parametrize("flag", ["us", "=https://x", "us=", "us=ftp://x", "us=https://a b"])
def test_a_malformed_gateway_url_fails_at_start_up(flag: str) -> None:
    with pytest.raises(ValueError, match=r"REGION=URL|http"):
        parse_gateway_urls([flag])


def test_a_bad_demo_login_url_fails_at_start_up() -> None:
    with pytest.raises(ValueError, match="http"):
        FanoutSettings("us", ("us",), "k:9092", demo_login_url="file:///etc/passwd")
