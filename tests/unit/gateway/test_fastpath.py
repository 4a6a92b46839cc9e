"""Which requests the fast path answers itself, and which go to the whole app."""

from __future__ import annotations

from typing import Any

import pytest

from gavel.gateway.fastpath import BidFastPath, bid_drop


def http(
    method: str, path: str, headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "headers": headers or []}


@pytest.mark.parametrize(
    ("scope", "drop"),
    [
        (http("POST", "/v1/drops/daytona-1963/bids"), "daytona-1963"),
        (http("GET", "/v1/drops/daytona-1963/bids"), None),
        (http("POST", "/v1/drops//bids"), None),
        (http("POST", "/v1/drops/a/b/bids"), None),
        (http("POST", "/v1/drops/x/bids/"), None),
        (http("POST", "/v1/drops/x"), None),
        ({"type": "websocket", "path": "/v1/drops/x/bids"}, None),
    ],
)
def test_only_a_bid_post_is_a_bid(scope: dict[str, Any], drop: str | None) -> None:
    assert bid_drop(scope) == drop


class Recorder:
    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.paths.append(scope["path"])


async def test_a_browser_bid_and_everything_else_go_to_the_app() -> None:
    app = Recorder()
    fast = BidFastPath(app, handling=None, max_body_bytes=4096)
    browser = http("POST", "/v1/drops/d/bids", [(b"origin", b"https://page.example")])
    await fast(browser, None, None)
    await fast(http("GET", "/v1/drops/d"), None, None)
    assert app.paths == ["/v1/drops/d/bids", "/v1/drops/d"]
