"""The relay's HTTP port: ``GET /healthz``, ``/readyz`` and ``/metrics``, nothing else.

Started by :func:`gavel.relay.service.run`; probed by the kubelet and scraped by Prometheus.

Deliberately tiny: :func:`respond` (pure) maps a request line to a response, and
:func:`start_server` serves it with ``asyncio.start_server``, one request per connection
(``Connection: close``), in the relay's own event loop. A full ASGI stack would bring a server
that installs its own SIGTERM handling and exits the process when its port is taken; the relay
needs neither for three read-only endpoints.

* ``/healthz``: 200 while the process serves at all (liveness).
* ``/readyz``: 200 when Redis answers and the Kafka producer has started, else 503.
* ``/metrics``: the Prometheus text format of the relay's registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST

from gavel.relay.metrics import Health

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 5.0
MAX_HEADER_LINES = 100


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


def _text(status: int, reason: str, body: str) -> Response:
    return Response(status, reason, "text/plain; charset=utf-8", body.encode())


def respond(request_line: bytes, health: Health, render_metrics: Callable[[], bytes]) -> Response:
    """The answer to one request line (``GET /readyz HTTP/1.1``)."""
    parts = request_line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return _text(400, "Bad Request", "bad request\n")
    method, target = parts[0], parts[1]
    path = target.split("?", 1)[0]
    if path not in ("/healthz", "/readyz", "/metrics"):
        return _text(404, "Not Found", "not found\n")
    if method not in ("GET", "HEAD"):
        return _text(405, "Method Not Allowed", "method not allowed\n")
    if path == "/healthz":
        return _text(200, "OK", "ok\n")
    if path == "/readyz":
        if health.ready:
            return _text(200, "OK", "ready\n")
        missing = [
            name
            for name, ok in (("redis", health.redis_ok), ("kafka", health.kafka_started))
            if not ok
        ]
        return _text(503, "Service Unavailable", f"not ready: {', '.join(missing)}\n")
    return Response(200, "OK", CONTENT_TYPE_LATEST, render_metrics())


async def start_server(
    host: str, port: int, health: Health, render_metrics: Callable[[], bytes]
) -> asyncio.Server:
    """Listen on ``host:port``; raises OSError if the port is taken."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                request_line = await reader.readline()
                for _ in range(MAX_HEADER_LINES):
                    if (await reader.readline()) in (b"\r\n", b"\n", b""):
                        break
                response = respond(request_line, health, render_metrics)
                writer.write(response.encode(head_only=request_line.startswith(b"HEAD ")))
                await writer.drain()
        except (TimeoutError, ConnectionError, ValueError) as exc:
            log.debug("HTTP request dropped: %r", exc)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_server(handle, host, port)
