"""A tiny HTTP/1.1 server for the workloads' side ports: health, metrics, small read APIs.

Used by the relay (:mod:`gavel.relay.web`: ``/healthz``, ``/readyz``, ``/metrics``) and the
audit writer (:mod:`gavel.audit.web`: the same plus the audit API); :func:`probe` (pure) gives
the three probe answers both serve. One request per connection (``Connection: close``), GET and
HEAD only, bounded request line, header count and time; answers come from a handler the
workload passes in. It runs inside the workload's own event loop: a full ASGI server would
install its own signal handling and exit the process when its port is taken, and these ports
need neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 5.0
MAX_HEADER_LINES = 100
MAX_REQUEST_LINE = 8192

REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}


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


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)


def text(status: int, body: str) -> Response:
    return Response(status, REASONS[status], "text/plain; charset=utf-8", body.encode())


def parse_request(request_line: bytes) -> Request | None:
    """``GET /path?x=1 HTTP/1.1`` -> Request; None if it is not a request line."""
    parts = request_line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return None
    target = urlsplit(parts[1])
    return Request(parts[0], target.path, parse_qs(target.query, keep_blank_values=True))


PROBES = ("/healthz", "/readyz", "/metrics")
READ_METHODS = ("GET", "HEAD")


def probe(
    path: str, missing: Sequence[str], render_metrics: Callable[[], bytes]
) -> Response | None:
    """The answer to a probe ``path``; None for any other path (the caller checks the method).

    * ``/healthz``: 200 while the process serves at all (liveness);
    * ``/readyz``: 200 when nothing is ``missing``, else 503 naming what is;
    * ``/metrics``: the Prometheus text format ``render_metrics`` returns.
    """
    if path == "/healthz":
        return text(200, "ok\n")
    if path == "/readyz":
        return text(503, f"not ready: {', '.join(missing)}\n") if missing else text(200, "ready\n")
    if path == "/metrics":
        return Response(200, "OK", CONTENT_TYPE_LATEST, render_metrics())
    return None


Handler = Callable[[Request], Awaitable[Response]]


async def start_server(host: str, port: int, handler: Handler) -> asyncio.Server:
    """Listen on ``host:port`` and answer each request with ``handler``; raises OSError if the
    port is taken. A malformed request line gets 400 without reaching the handler."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                line = await reader.readline()
                for _ in range(MAX_HEADER_LINES):
                    if (await reader.readline()) in (b"\r\n", b"\n", b""):
                        break
            request = parse_request(line) if len(line) <= MAX_REQUEST_LINE else None
            response = text(400, "bad request\n") if request is None else await handler(request)
            head_only = request is not None and request.method == "HEAD"
            writer.write(response.encode(head_only=head_only))
            await writer.drain()
        except (TimeoutError, ConnectionError, ValueError) as exc:
            log.debug("HTTP request dropped: %r", exc)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_server(handle, host, port, limit=MAX_REQUEST_LINE * 2)
