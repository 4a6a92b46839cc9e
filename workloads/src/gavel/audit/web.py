"""The audit writer's HTTP port: probes, metrics and the read-only audit API.

Started by :func:`gavel.audit.service.run`. Deliberately tiny: :func:`answer` maps a
:class:`~gavel.lifecycle.sideport.Request` to a :class:`~gavel.lifecycle.sideport.Response`
(reading Cassandra only for the audit API; the probes are :func:`gavel.lifecycle.sideport.probe`),
and :func:`start_server` serves it on :mod:`gavel.lifecycle.sideport` in the writer's own event
loop. No ASGI stack: five read-only GETs do not need one, and a server framework would bring
signal handling of its own into a process that must stop in a set order.

* ``GET /healthz``: 200 while the process serves at all (liveness).
* ``GET /readyz``: 200 when Cassandra and Kafka are connected, else 503 naming what is not.
* ``GET /metrics``: Prometheus text format.
* ``GET /v1/audit/drops/{drop}?bidder=&outcome=accepted|rejected&limit=&page_token=``:
  ``{"drop", "attempts": [...], "next_page_token"}`` in decided-time order (see
  :mod:`gavel.audit.reading`); 400 for a bad query, 503 while Cassandra cannot be read.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from gavel.audit import reading
from gavel.audit.metrics import Health
from gavel.audit.store import StoreErrors
from gavel.lifecycle import sideport
from gavel.lifecycle.sideport import READ_METHODS, REASONS, Request, Response, probe

log = logging.getLogger(__name__)

API_PREFIX = "/v1/audit/drops/"


def problem(status: int, code: str, detail: str) -> Response:
    """An RFC 9457 problem object with a stable ``code`` (the gateway's style)."""
    body = {"type": "about:blank", "title": REASONS[status], "status": status}
    body |= {"code": code, "detail": detail}
    return Response(status, REASONS[status], "application/problem+json", _json(body))


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """A parsed audit API request."""

    drop: str
    filters: reading.Filters
    cursor: reading.Cursor | None
    limit: int


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
    probed = probe(request.path, api.health.missing(), api.render_metrics)
    if probed is None and not request.path.startswith(API_PREFIX):
        return problem(404, "not_found", f"no such path: {request.path}")
    if request.method not in READ_METHODS:
        return problem(405, "method_not_allowed", "only GET")
    if probed is not None:
        return probed
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

    async def handler(request: Request) -> Response:
        return await answer(request, api)

    return await sideport.start_server(host, port, handler)
