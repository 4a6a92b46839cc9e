"""The drop page's HTTP answers on the fan-out's port: the page, its static assets, and the
pages that say why there is no page. A thin adapter.

Called by :mod:`gavel.fanout.connection` when a plain ``GET`` arrives:

* ``/drops/{drop}`` -> the live page (:mod:`gavel.fanout.page`), built from this region's Redis
  (:mod:`gavel.fanout.catalog`) and the drop's feed; 404 with a page saying so for a drop this
  region does not know, 503 with one when Redis does not answer;
* ``/static/<name>`` -> the page's script, style sheet and icon, packaged in the wheel
  (``gavel/fanout/assets/public``) and read once at start-up.

Every answer carries the security headers of :mod:`gavel.fanout.csp`. Each answer is a
complete HTTP/1.1 response with ``Connection: close``, like the fan-out's other plain answers.
"""

from __future__ import annotations

import email.utils
import http
import re
import time
from collections.abc import Iterable
from importlib import resources
from typing import Protocol

from websockets.datastructures import Headers
from websockets.http11 import Response

from gavel import keys
from gavel.fanout import csp, metrics, page
from gavel.fanout.catalog import Catalog, CatalogUnavailable
from gavel.fanout.hub import Hub
from gavel.fanout.settings import FanoutSettings

PAGE_PATH = re.compile(r"^/drops/([^/]+)/?$")
STATIC_PREFIX = "/static/"
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
ASSETS: dict[str, tuple[str, bytes]] = {
    f"{STATIC_PREFIX}{item.name}": (_TYPES[suffix], item.read_bytes())
    for item in (resources.files("gavel.fanout") / "assets" / "public").iterdir()
    if (suffix := "." + item.name.rsplit(".", 1)[-1]) in _TYPES
}
"""Path -> (content type, bytes) of every public asset."""


class PageHost(Protocol):
    """What the page needs of the fan-out process (gavel.fanout.server.FanoutServer)."""

    settings: FanoutSettings
    hub: Hub
    catalog: Catalog
    policy: str


def page_policy(settings: FanoutSettings) -> str:
    """The page's Content-Security-Policy for these settings (ValueError for a bad URL)."""
    others: Iterable[str] = [url for _, url in settings.gateway_urls]
    if settings.demo_login_url:
        others = [*others, settings.demo_login_url]
    return csp.page_policy(others)


def _response(
    status: int, body: bytes, content_type: str, policy: str, cache: str = "no-store"
) -> Response:
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Length", str(len(body))),
            ("Content-Type", content_type),
            *csp.headers(policy, cache=cache),
        ]
    )
    return Response(status, http.HTTPStatus(status).phrase, headers, body)


def _html(status: int, text: str, policy: str) -> Response:
    metrics.PAGES.labels(str(status)).inc()
    return _response(status, text.encode(), "text/html; charset=utf-8", policy)


def asset(path: str, policy: str) -> Response:
    found = ASSETS.get(path)
    if found is None:
        return _html(404, page.render_message("Not found", "There is nothing here."), policy)
    content_type, body = found
    return _response(200, body, content_type, policy, cache="public, max-age=300")


async def drop_page(host: PageHost, drop: str) -> Response:
    """The page of ``drop``, or the page saying why there is none."""
    policy = host.policy
    if not keys.DROP_ID_PATTERN.match(drop):
        return _html(404, page.not_found(drop[:64]), policy)
    if not host.catalog.enabled:
        text = "This server has no drop details (it was started without a Redis URL)."
        return _html(404, page.render_message("No drop pages here", text), policy)
    try:
        info = await host.catalog.lookup(drop)
    except CatalogUnavailable:
        text = "The drop's details cannot be read right now. Reload the page in a moment."
        response = _html(503, page.render_message("Try again shortly", text), policy)
        response.headers["Retry-After"] = "2"
        return response
    if info is None:
        return _html(404, page.not_found(drop), policy)
    feed = host.hub.feeds.get(drop)
    settings = host.settings
    view = page.drop_page(
        info.rules,
        info.listing,
        feed.latest if feed else None,
        feed.recent if feed else [],
        now_ms=int(time.time() * 1000),
        gateway=page.gateway_for(
            info.rules.home_region, settings.region, dict(settings.gateway_urls)
        ),
        demo_login=settings.demo_login_url,
    )
    return _html(200, page.render(view), policy)
