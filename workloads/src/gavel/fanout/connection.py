"""One observer socket: the websockets Sans-I/O protocol around an asyncio transport.

Created by :mod:`gavel.fanout.server` for every TCP connection. The protocol object parses the
handshake and incoming frames (pings, pongs, close) and produces the bytes to answer them;
this class only moves bytes and routes the handshake:

* ``GET /v1/drops/{drop}/live[?since=SEQ]`` -> WebSocket, subscribed to the drop's feed;
* ``GET /healthz``, ``/readyz``, ``/metrics`` -> plain HTTP answers on the same port;
* ``GET /drops/{drop}``, ``/static/...`` -> the live drop page and its assets
  (:mod:`gavel.fanout.web`);
* anything else -> 404.

Price frames bypass the protocol object: the hub writes pre-encoded frames straight to the
transport (no compression is ever negotiated, so one frame is valid on every socket).
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from typing import Protocol, cast
from urllib.parse import parse_qs, urlsplit

from prometheus_client import generate_latest
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.typing import Origin

from gavel import keys
from gavel.fanout import metrics, web
from gavel.fanout.admission import Admission
from gavel.fanout.catalog import Catalog
from gavel.fanout.hub import Hub
from gavel.fanout.settings import FanoutSettings

log = logging.getLogger(__name__)
LIVE_PATH = re.compile(r"^/v1/drops/([^/]+)/live$")
HANDSHAKE_TIMEOUT_S = 10.0


class Host(Protocol):
    """What a connection needs from the process serving it (gavel.fanout.server.FanoutServer)."""

    settings: FanoutSettings
    hub: Hub
    ready: asyncio.Event
    sockets: set[ObserverConnection]
    origins: list[Origin | None] | None
    admission: Admission
    catalog: Catalog
    policy: str


class ObserverConnection(asyncio.Protocol):
    def __init__(self, server: Host) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.proto = ServerProtocol(
            origins=server.origins, max_size=server.settings.max_message_bytes
        )
        self.drop: str | None = None
        self.address: str | None = None
        self.admitted = False
        """Counted against its address's open sockets (until connection_lost)."""
        self.opened_at = time.monotonic()
        self.last_pong = self.opened_at
        self.paused_since: float | None = None
        self.conflated = False

    # --- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.set_write_buffer_limits(high=self.server.settings.high_water_bytes)
        sock = self.transport.get_extra_info("socket")
        if sock is not None:  # a fixed kernel buffer: what queues there is never conflated
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_SNDBUF, self.server.settings.send_buffer_bytes
            )
        peer = self.transport.get_extra_info("peername")
        self.address = peer[0] if isinstance(peer, tuple) else None
        self.server.sockets.add(self)

    def data_received(self, data: bytes) -> None:
        self.proto.receive_data(data)
        for event in self.proto.events_received():
            if isinstance(event, Request):
                self._handshake(event)
            elif isinstance(event, Frame) and event.opcode is Opcode.PONG:
                self.last_pong = time.monotonic()
            # Text and binary frames from observers carry nothing we act on.
        self._flush()

    def eof_received(self) -> bool | None:
        self.proto.receive_eof()
        self._flush()
        return None

    def pause_writing(self) -> None:
        self.paused_since = time.monotonic()

    def resume_writing(self) -> None:
        self.paused_since = None
        if self.conflated and self.drop is not None:
            self.server.hub.resync(self, self.drop)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.sockets.discard(self)
        if self.admitted:
            self.admitted = False
            self.server.admission.closed(self.address, time.monotonic())
        if self.drop is not None:
            self.server.hub.unsubscribe(self, self.drop)
            self.drop = None

    # --- used by the hub ---------------------------------------------------------------------

    def write(self, frame: bytes) -> None:
        if self.transport is not None and self.proto.state is State.OPEN:
            self.transport.write(frame)

    def abort(self, reason: str) -> None:
        if self.transport is not None:
            self.transport.abort()

    @property
    def is_open(self) -> bool:
        return self.proto.state is State.OPEN

    # --- handshake ---------------------------------------------------------------------------

    def _handshake(self, request: Request) -> None:
        url = urlsplit(request.path)
        if url.path == "/healthz":
            self._answer(200, "ok\n")
            return
        if url.path == "/readyz":
            ok = self.server.ready.is_set()
            self._answer(200 if ok else 503, "ready\n" if ok else "catching up from Kafka\n")
            return
        if url.path == "/metrics":
            self._answer(200, generate_latest().decode())
            return
        if url.path.startswith(web.STATIC_PREFIX):
            self.proto.send_response(web.asset(url.path, self.server.policy))
            return
        page = web.PAGE_PATH.match(url.path)
        if page is not None:
            self._page(page.group(1))
            return
        match = LIVE_PATH.match(url.path)
        if match is None or not keys.DROP_ID_PATTERN.match(match.group(1)):
            self._answer(404, "no such path; observers connect to /v1/drops/{drop}/live\n")
            return
        if not self.server.ready.is_set():
            self._refuse(503, "catching up from Kafka; retry shortly\n", "not_ready")
            return
        if len(self.server.sockets) > self.server.settings.max_connections:
            self._refuse(503, "this replica is full; retry (another replica)\n", "full")
            return
        try:
            since = _since(url.query)
        except ValueError:
            self._refuse(400, "since must be a non-negative integer\n", "bad_since")
            return
        refusal = self.server.admission.admit(self.address, time.monotonic())
        if refusal is not None:
            self._refuse(
                429, "too many connections from your address; retry later\n", refusal.value
            )
            return
        response = self.proto.accept(request)
        self.proto.send_response(response)
        if response.status_code != 101:  # origin refused, malformed upgrade...
            metrics.REFUSED.labels("handshake").inc()
            return
        self.server.admission.opened(self.address)
        self.admitted = True
        self.drop = match.group(1)
        self._flush()  # the 101 must precede the first frame
        self.server.hub.subscribe(self, self.drop, since)

    def _page(self, drop: str) -> None:
        # A page may read Redis: it spends one of the address's handshake tokens, so one client
        # cannot make the fan-out read names at will.
        refusal = self.server.admission.admit(self.address, time.monotonic())
        if refusal is not None:
            self._refuse(429, "too many requests from your address; retry later\n", refusal.value)
            return
        task = asyncio.ensure_future(web.drop_page(self.server, drop))
        task.add_done_callback(self._send_page)

    def _send_page(self, task: asyncio.Future[Response]) -> None:
        if task.cancelled() or self.transport is None or self.transport.is_closing():
            return
        error = task.exception()
        if error is not None:  # a bug: say so plainly, keep the process serving
            log.error("drop page failed", exc_info=error)
            self._answer(500, "the page could not be built\n")
        else:
            self.proto.send_response(task.result())
        self._flush()

    def _answer(self, status: int, text: str) -> None:
        self.proto.send_response(self.proto.reject(status, text))

    def _refuse(self, status: int, text: str, reason: str) -> None:
        metrics.REFUSED.labels(reason).inc()
        response = self.proto.reject(status, text)
        if status in (429, 503):
            response.headers["Retry-After"] = "1"
        self.proto.send_response(response)

    def _flush(self) -> None:
        if self.transport is None:
            return
        for data in self.proto.data_to_send():
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():
                self.transport.write_eof()
        if self.proto.close_expected() or self.proto.state is State.CLOSED:
            self.transport.close()


def _since(query: str) -> int | None:
    """The ``since`` query parameter, None if absent; ValueError if not a small natural number."""
    values = parse_qs(query).get("since")
    if not values:
        return None
    raw = values[0]
    if not raw.isdigit() or len(raw) > 18:
        raise ValueError(raw)
    return int(raw)
