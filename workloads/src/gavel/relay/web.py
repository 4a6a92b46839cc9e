"""The relay's HTTP port: ``GET /healthz``, ``/readyz`` and ``/metrics``, nothing else.

Started by :func:`gavel.relay.service.run`; probed by the kubelet and scraped by Prometheus.

Deliberately tiny: :func:`respond` (pure) maps a request line to a response, and
:func:`start_server` serves it on :mod:`gavel.lifecycle.sideport` in the relay's own event loop.

* ``/healthz``: 200 while the process serves at all (liveness).
* ``/readyz``: 200 when Redis answers and the Kafka producer has started, else 503.
* ``/metrics``: the Prometheus text format of the relay's registry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from gavel.lifecycle import sideport
from gavel.lifecycle.sideport import READ_METHODS, Request, Response, parse_request, probe, text
from gavel.relay.metrics import Health


def respond(request_line: bytes, health: Health, render_metrics: Callable[[], bytes]) -> Response:
    """The answer to one request line (``GET /readyz HTTP/1.1``)."""
    request = parse_request(request_line)
    if request is None:
        return text(400, "bad request\n")
    return answer(request, health, render_metrics)


def answer(request: Request, health: Health, render_metrics: Callable[[], bytes]) -> Response:
    """The answer to a parsed request."""
    response = probe(request.path, health.missing(), render_metrics)
    if response is None:
        return text(404, "not found\n")
    if request.method not in READ_METHODS:
        return text(405, "method not allowed\n")
    return response


async def start_server(
    host: str, port: int, health: Health, render_metrics: Callable[[], bytes]
) -> asyncio.Server:
    """Listen on ``host:port``; raises OSError if the port is taken."""

    async def handler(request: Request) -> Response:
        return answer(request, health, render_metrics)

    return await sideport.start_server(host, port, handler)
