"""The audit writer's HTTP port: probes, metrics and the read-only audit API.

Started by :func:`gavel.audit.service.run`. Deliberately tiny: :func:`parse_request` (pure)
turns a request line into a :class:`Request`, :func:`answer` maps it to a :class:`Response`
(reading Cassandra only for the audit API), and :func:`start_server` serves it with
``asyncio.start_server``, one request per connection (``Connection: close``), in the writer's
own event loop. No ASGI stack: five read-only GETs do not need one, and a server framework
would bring signal handling of its own into a process that must stop in a set order.

* ``GET /healthz``: 200 while the process serves at all (liveness).
* ``GET /readyz``: 200 when Cassandra and Kafka are connected, else 503 naming what is not.
* ``GET /metrics``: Prometheus text format.
* ``GET /v1/audit/drops/{drop}?bidder=&outcome=accepted|rejected&limit=&page_token=``:
  ``{"drop", "attempts": [...], "next_page_token"}`` in decided-time order (see
  :mod:`gavel.audit.reading`); 400 for a bad query, 503 while Cassandra cannot be read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST

from gavel.audit import reading
from gavel.audit.metrics import Health
from gavel.audit.store import StoreErrors

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 5.0
MAX_HEADER_LINES = 100
MAX_REQUEST_LINE = 8192
API_PREFIX = "/v1/audit/drops/"


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    reason: str
    content_type: str
    body: bytes

    def encode(self, head_only: bool = False) -> bytes:
        head = (
            f"HTTP/1.1 {self.status} {self.reason}\r\n"
            f"Content-Type: {self.content_type}\r\n"
            f"Content-Length: {len(self.body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        return head if head_only else head + self.body


_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}


def text(status: int, body: str) -> Response:
    return Response(status, _REASONS[status], "text/plain; charset=utf-8", body.encode())


def problem(status: int, code: str, detail: str) -> Response:
    """An RFC 9457 problem object with a stable ``code`` (the gateway's style)."""
    body = {"type": "about:blank", "title": _REASONS[status], "status": status}
    body |= {"code": code, "detail": detail}
    return Response(status, _REASONS[status], "application/problem+json", _json(body))


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """A parsed audit API request."""

    drop: str
    filters: reading.Filters
    cursor: reading.Cursor | None
    limit: int


def parse_request(request_line: bytes) -> Request | None:
    """``GET /path?x=1 HTTP/1.1`` -> Request; None if it is not a request line."""
    parts = request_line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return None
    target = urlsplit(parts[1])
    return Request(parts[0], target.path, parse_qs(target.query, keep_blank_values=True))


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise reading.QueryError(f"{name} given more than once")
    return values[0]


def parse_audit_query(request: Request) -> AuditQuery:
    """The audit API query in ``request`` (its path starts with :data:`API_PREFIX`)."""
    drop = unquote(request.path[len(API_PREFIX) :])
    if not drop or "/" in drop:
        raise reading.QueryError("the path must be /v1/audit/drops/{drop}")
    unknown = set(request.query) - {"bidder", "outcome", "limit", "page_token"}
    if unknown:
        raise reading.QueryError(f"unknown query parameter(s): {', '.join(sorted(unknown))}")
    limit_text = _one(request.query, "limit")
    if limit_text is not None and not limit_text.isdigit():
        raise reading.QueryError(f"limit must be a number, not {limit_text!r}")
    token = _one(request.query, "page_token")
    return AuditQuery(
        drop=drop,
        filters=reading.Filters(
            bidder=_one(request.query, "bidder") or None,
            outcome=reading.parse_outcome(_one(request.query, "outcome")),
        ),
        cursor=reading.Cursor.from_token(token) if token else None,
        limit=reading.check_limit(int(limit_text) if limit_text else 100),
    )


def page_json(drop: str, page: reading.Page) -> bytes:
    return _json(
        {
            "drop": drop,
            "attempts": [a.to_json() for a in page.attempts],
            "next_page_token": page.next_token,
        }
    )


@dataclass
class Api:
    """What the HTTP port answers from; the service fills in ``store`` once connected."""

    health: Health
    render_metrics: Callable[[], bytes]
    store: reading.Rows | None = None


async def answer(request: Request, api: Api) -> Response:
    """The response to ``request``."""
    known = request.path in ("/healthz", "/readyz", "/metrics")
    if not known and not request.path.startswith(API_PREFIX):
        return problem(404, "not_found", f"no such path: {request.path}")
    if request.method not in ("GET", "HEAD"):
        return problem(405, "method_not_allowed", "only GET")
    if request.path == "/healthz":
        return text(200, "ok\n")
    if request.path == "/readyz":
        if api.health.ready:
            return text(200, "ready\n")
        return text(503, f"not ready: {', '.join(api.health.missing())}\n")
    if request.path == "/metrics":
        return Response(200, "OK", CONTENT_TYPE_LATEST, api.render_metrics())
    try:
        query = parse_audit_query(request)
    except reading.QueryError as exc:
        return problem(400, "invalid_query", str(exc))
    if api.store is None:
        return problem(503, "unavailable", "not connected to Cassandra yet")
    try:
        page = await reading.read_page(
            api.store, query.drop, filters=query.filters, cursor=query.cursor, limit=query.limit
        )
    except StoreErrors as exc:
        log.warning("audit read of %s failed: %r", query.drop, exc)
        return problem(503, "unavailable", "Cassandra did not answer; try again")
    return Response(200, "OK", "application/json", page_json(query.drop, page))


async def start_server(host: str, port: int, api: Api) -> asyncio.Server:
    """Listen on ``host:port``; raises OSError if the port is taken."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                line = await reader.readline()
                for _ in range(MAX_HEADER_LINES):
                    if (await reader.readline()) in (b"\r\n", b"\n", b""):
                        break
            request = parse_request(line) if len(line) <= MAX_REQUEST_LINE else None
            if request is None:
                response = text(400, "bad request\n")
            else:
                response = await answer(request, api)
            writer.write(
                response.encode(head_only=request is not None and request.method == "HEAD")
            )
            await writer.drain()
        except (TimeoutError, ConnectionError, ValueError) as exc:
            log.debug("HTTP request dropped: %r", exc)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_server(handle, host, port, limit=MAX_REQUEST_LINE * 2)
