"""ASGI shortcut for ``POST /v1/drops/{drop}/bids``: the one hot route skips the framework.

Wraps the FastAPI application (which still declares the route, so it stays in the OpenAPI
document, and serves everything else: drop views, the bidder socket, health, metrics). A bid
POST is answered here straight from the ASGI messages by
:meth:`gavel.gateway.handling.BidHandling.post`, the same code the FastAPI route calls, so the
two cannot answer differently; what the framework's routing, request object, dependency
resolution and middleware chain cost per bid (about a third of a bid's CPU, docs/performance.md)
is not paid. Body size limits stay with :class:`gavel.gateway.limits.BodySizeLimit`, which
wraps this. A request with an ``Origin`` header (a drop page in a browser) goes through the
whole app, so the CORS middleware answers it as for every other route.
"""

from __future__ import annotations

from typing import Any

from gavel.gateway.handling import BidHandling
from gavel.gateway.limits import BodySizeLimit

_PREFIX = "/v1/drops/"
_SUFFIX = "/bids"


def bid_drop(scope: dict[str, Any]) -> str | None:
    """The drop of a bid POST's path (as FastAPI's ``{drop_id}`` matches it), else None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    if not (path.startswith(_PREFIX) and path.endswith(_SUFFIX)):
        return None
    drop = path[len(_PREFIX) : -len(_SUFFIX)]
    return drop if drop and "/" not in drop else None


def _from_a_browser(scope: dict[str, Any]) -> bool:
    return any(name == b"origin" for name, _ in scope["headers"])


class BidFastPath:
    """The gateway's outermost ASGI application: bid POSTs here, the rest to ``app``."""

    def __init__(self, app: Any, handling: BidHandling, max_body_bytes: int) -> None:
        self.app = app
        self.handling = handling
        self._limited = BodySizeLimit(self._bid, max_body_bytes)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if bid_drop(scope) is None or _from_a_browser(scope):
            # A browser's bid (it sends Origin) takes the whole app: CORS answers it.
            await self.app(scope, receive, send)
        else:
            await self._limited(scope, receive, send)

    async def _bid(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        drop = bid_drop(scope)
        assert drop is not None
        authorization = content_type = None
        for name, value in scope["headers"]:  # the first of a repeated header counts
            if name == b"authorization" and authorization is None:
                authorization = value.decode("latin-1")
            elif name == b"content-type" and content_type is None:
                content_type = value.decode("latin-1")
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        status, headers, payload = await self.handling.post(
            drop, authorization, content_type or "", body
        )
        headers.append((b"content-length", b"%d" % len(payload)))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
