"""The herd's observers: many cheap WebSocket clients of the fan-out, one asyncio protocol each.

Started by :mod:`gavel.herd.run`. Each observer speaks the fan-out protocol (docs/fanout.md):
it connects, takes the snapshot and every ``price``, and when its socket is cut it reconnects
with ``?since=SEQ`` (its last seq) after a short, jittered pause. Every message is folded into
its :class:`~gavel.herd.records.ObserverView` on arrival.

Why not ``websockets.connect``: an observer costs a task, queues and a reader coroutine there;
here it is the library's Sans-I/O client core on a bare transport (what the fan-out itself does
on its side), so twenty thousand of them fit beside the stack on two cores.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

from gavel.herd.records import ObserverView, RegionSightings

RECONNECT_S = (0.2, 1.0)
"""A cut observer waits a random pause in this range before it reconnects (no thundering
reconnect of a whole region at once)."""


class _Socket(asyncio.Protocol):
    """One connection of one observer: bytes in, the protocol core, views out."""

    def __init__(self, url: str, view: ObserverView, sightings: RegionSightings) -> None:
        self.core = ClientProtocol(parse_uri(url), max_size=2**16)
        self.view, self.sightings = view, sightings
        self.transport: asyncio.Transport | None = None
        self.handshake: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.counted = False
        """Counted in its region's connected sockets (from the 101 until the socket closes)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.core.send_request(self.core.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.core.receive_data(data)
        now = time.time() * 1000
        for event in self.core.events_received():
            if isinstance(event, Response):
                if not self.handshake.done():
                    self.handshake.set_result(event.status_code == 101)
                    if event.status_code == 101:
                        self.counted = True
                        self.sightings.connected += 1
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                msg = self.sightings.decode(bytes(event.data))
                self.view.take(msg, now, self.sightings)
        self._flush()

    def eof_received(self) -> bool | None:
        self.core.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.counted:
            self.counted = False
            self.sightings.connected -= 1
        if not self.handshake.done():
            self.handshake.set_result(False)
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self) -> None:
        if self.transport is not None and self.core.state is State.OPEN:
            self.core.send_close(1000)
            self._flush()
        if self.transport is not None:
            self.transport.close()

    def _flush(self) -> None:
        if self.transport is None:
            return
        for chunk in self.core.data_to_send():
            if chunk:
                self.transport.write(chunk)
            elif self.core.close_expected():
                self.transport.write_eof()


@dataclass
class Observer:
    """One observer for the whole drop: connects, and reconnects with ``since`` until told to
    stop. ``refused`` counts handshakes the fan-out refused or that failed to connect."""

    base_url: str
    """``ws://host:port`` of the region's fan-out."""
    drop: str
    view: ObserverView
    sightings: RegionSightings
    rng: random.Random
    refused: int = 0
    socket: _Socket | None = field(default=None, repr=False)

    def url(self) -> str:
        since = f"?since={self.view.seq}" if self.view.seq else ""
        return f"{self.base_url}/v1/drops/{self.drop}/live{since}"

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        uri = parse_uri(self.base_url)
        while not stop.is_set():
            url = self.url()
            try:
                _, sock = await loop.create_connection(
                    lambda u=url: _Socket(u, self.view, self.sightings),  # type: ignore[misc]
                    uri.host,
                    uri.port,
                )
            except OSError:
                self.refused += 1
            else:
                self.socket = sock
                if await sock.handshake:
                    self.view.connects += 1
                else:
                    self.refused += 1
                stopping: asyncio.Future[object] = asyncio.ensure_future(stop.wait())
                closed: asyncio.Future[object] = sock.closed  # type: ignore[assignment]
                await asyncio.wait({closed, stopping}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if stop.is_set():
                    sock.close()
                    return
            await asyncio.sleep(self.rng.uniform(*RECONNECT_S))

    def cut(self) -> None:
        """Drop the current socket, as a flaky network would (it then resumes with since)."""
        if self.socket is not None and self.socket.transport is not None:
            self.socket.transport.abort()
