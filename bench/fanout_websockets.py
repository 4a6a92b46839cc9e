"""The fan-out built the plain way, for bench/fanout: ``websockets``' asyncio server and its
``broadcast()``.

Same Kafka ingest and per-drop feeds as ``gavel fanout`` (so the same messages reach the same
sockets); only the socket layer differs: the library's high-level server, one connection
object per socket, and ``websockets.broadcast()``, which frames each message per connection.
This is the baseline the issue asks the WebSocket design to be chosen against.

Run by bench/fanout.py as ``python -m bench.fanout_websockets --region R --port P``.
"""

from __future__ import annotations

import argparse
import asyncio
import http
from collections import defaultdict
from typing import cast

import uvloop
import websockets
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from gavel import endpoints, kafka_auth
from gavel.events import PriceEvent
from gavel.fanout import ingest
from gavel.fanout.feed import Applied, Feed
from gavel.fanout.hub import Hub
from gavel.fanout.settings import FanoutSettings


class BroadcastHub:
    """Feeds as in gavel.fanout, delivery through websockets.broadcast()."""

    def __init__(self) -> None:
        self.feeds: dict[str, Feed] = {}
        self.watchers: dict[str, set[ServerConnection]] = defaultdict(set)

    def feed(self, drop: str) -> Feed:
        return self.feeds.setdefault(drop, Feed(drop))

    def publish(self, event: PriceEvent) -> int:
        applied, message = self.feed(event.drop).apply(event)
        if applied is Applied.IGNORED:
            return 0
        websockets.broadcast(self.watchers[event.drop], message.decode())
        return len(self.watchers[event.drop])


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--region", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = FanoutSettings(
        region=args.region,
        regions=tuple(endpoints.regions()),
        kafka_bootstrap=endpoints.kafka_bootstrap(args.region),
        kafka_auth=kafka_auth.from_env(kafka_auth.FANOUT),
    )
    hub = BroadcastHub()
    ready = asyncio.Event()

    def health(connection: ServerConnection, request: Request) -> Response | None:
        if request.path == "/readyz":
            status = http.HTTPStatus.OK if ready.is_set() else http.HTTPStatus.SERVICE_UNAVAILABLE
            return connection.respond(status, "ready\n")
        return None

    async def observer(connection: ServerConnection) -> None:
        drop = connection.request.path.split("/")[3] if connection.request else ""
        feed = hub.feed(drop)
        await connection.send(feed.snapshot(resync=False).decode())
        hub.watchers[drop].add(connection)
        try:
            await connection.wait_closed()
        finally:
            hub.watchers[drop].discard(connection)

    never = asyncio.Event()  # runs until killed
    follow = asyncio.create_task(ingest.follow(settings, cast(Hub, hub), ready, never))
    async with serve(
        observer, "127.0.0.1", args.port, compression=None, process_request=health, max_queue=16
    ):
        await follow


if __name__ == "__main__":
    uvloop.run(main())
