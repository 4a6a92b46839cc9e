"""Security headers of the drop page and its assets: a strict Content-Security-Policy. Pure.

Called by :mod:`gavel.fanout.web` for every page it serves. The page runs one script and one
style sheet from its own origin and nothing inline, so the policy allows exactly that: scripts
and styles from ``'self'``, connections to ``'self'`` (the observer socket) and to the origins
the page must reach (the bid gateway over HTTP and WebSocket, the demo login in the local
stack), no plugins, no frames, no base-URI or form-action tricks. Fan-outs take those origins
from their flags, so a typo fails at start-up, not in a browser.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

_SOCKET_SCHEME = {"http": "ws", "https": "wss"}


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL; ValueError for anything else (no path
    tricks, no credentials, nothing a header could be split with)."""
    parts = urlsplit(url)
    if parts.scheme not in _SOCKET_SCHEME or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    if parts.username or parts.password or any(c in url for c in " ;,\r\n'\""):
        raise ValueError(f"{url!r} must be a plain http(s) URL")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def socket_origin(url: str) -> str:
    """The WebSocket origin of an http(s) URL: ``http://h:1`` -> ``ws://h:1``."""
    origin = origin_of(url)
    scheme, rest = origin.split("://", 1)
    return f"{_SOCKET_SCHEME[scheme]}://{rest}"


def page_policy(connect_to: Iterable[str]) -> str:
    """The page's policy; ``connect_to``: http(s) URLs its script may fetch from, each allowed
    over HTTP and as a WebSocket."""
    sources: list[str] = ["'self'"]
    for url in connect_to:
        for origin in (origin_of(url), socket_origin(url)):
            if origin not in sources:
                sources.append(origin)
    directives = {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self'",
        "connect-src": " ".join(sources),
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def headers(policy: str, *, cache: str) -> list[tuple[str, str]]:
    """Headers for a page or asset: the policy, no MIME sniffing, no referrer, ``cache``."""
    return [
        ("Content-Security-Policy", policy),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cache-Control", cache),
    ]
