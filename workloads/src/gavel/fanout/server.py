"""The fan-out process: Kafka ingest, the observer socket server (and the drop page) and
housekeeping.

Called by ``gavel fanout``. One event loop runs everything: the ingest task feeds the hub, the
server accepts sockets (health and metrics share the port), a housekeeping task pings
sockets, drops dead or stuck ones and disconnects slow consumers, and a reporting task records
each drop's observers in this region's Redis (:mod:`.presence`), once more on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from websockets.typing import Origin

from gavel.fanout import ingest, messages, metrics, presence, web
from gavel.fanout.admission import Admission
from gavel.fanout.catalog import Catalog
from gavel.fanout.connection import HANDSHAKE_TIMEOUT_S, ObserverConnection
from gavel.fanout.hub import Hub
from gavel.fanout.settings import FanoutSettings
from gavel.lifecycle.signals import stop_on_signals


class FanoutServer:
    def __init__(self, settings: FanoutSettings) -> None:
        self.settings = settings
        self.hub = Hub(settings.history_size)
        self.ready = asyncio.Event()
        self.sockets: set[ObserverConnection] = set()
        self.admission = Admission(settings.address_limits)
        self.catalog = Catalog(settings.redis_url)
        self.policy = web.page_policy(settings)
        self.presence = (
            presence.Presence(settings.redis_url, settings.observers_interval_s)
            if settings.redis_url
            else None
        )
        # Clients that send no Origin (not browsers) may always connect.
        self.origins: list[Origin | None] | None = (
            [None, *(Origin(o) for o in settings.allowed_origins)]
            if settings.allowed_origins
            else None
        )

    async def serve(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: ObserverConnection(self),
            self.settings.host,
            self.settings.port,
            backlog=4096,
            reuse_port=True,
        )
        tasks = [
            asyncio.create_task(ingest.follow(self.settings, self.hub, self.ready, stop)),
            asyncio.create_task(self._housekeeping()),
            asyncio.create_task(self._report_observers()),
        ]
        try:
            await stop.wait()
        finally:
            server.close()
            for task in tasks:
                task.cancel()
            for sock in list(self.sockets):
                sock.abort("shutdown")
            # The last report takes this process's entries out of the regions' sums (the peaks
            # they made stay); a Redis that does not answer must not hold up the shutdown.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._report(leaving=True), 2 * presence.TIMEOUT_S)
            await self.catalog.close()
            if self.presence is not None:
                await self.presence.close()

    async def _report_observers(self) -> None:
        while True:
            await asyncio.sleep(self.settings.observers_interval_s)
            await self._report(leaving=False)

    async def _report(self, *, leaving: bool) -> None:
        due = self.hub.tally.due()
        if self.presence is not None:
            await self.presence.record(due, leaving=leaving)
            return
        for report in due:  # no Redis to say which drops are real: those with prices are
            if report.drop in self.hub.feeds:
                presence.set_gauge(report)

    async def _housekeeping(self) -> None:
        next_ping = time.monotonic() + self.settings.ping_interval_s
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            self.hub.sweep(now, self.settings.slow_timeout_s)
            self.admission.sweep(now)
            metrics.ADDRESSES.set(self.admission.tracked)
            for sock in list(self.sockets):
                if not sock.is_open and now - sock.opened_at > HANDSHAKE_TIMEOUT_S:
                    sock.abort("handshake timeout")
                elif sock.is_open and now - sock.last_pong > 2.5 * self.settings.ping_interval_s:
                    sock.abort("no pong")
            if now >= next_ping:
                next_ping = now + self.settings.ping_interval_s
                for sock in list(self.sockets):
                    if sock.is_open and sock.paused_since is None:
                        sock.write(messages.PING_FRAME)


async def run(settings: FanoutSettings) -> None:
    """Serve until SIGTERM or SIGINT (``gavel fanout`` runs it on uvloop)."""
    stop = asyncio.Event()
    stop_on_signals(stop)
    await FanoutServer(settings).serve(stop)
