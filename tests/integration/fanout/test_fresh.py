"""Fresh before complete, on a real fan-out fed through Kafka: an observer that reads slowly
gets a few buffered prices and then one resync snapshot of the latest, not a backlog of every
price it fell behind on."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from gavel import kafka_auth, kafka_clients, topics
from gavel_devstack.harness.fanout import Observer, price_event, running_fanout, until_subscribed
from gavel_devstack.harness.stack_env import Stack

PRICES = 3_000


class SlowObserver:
    """A WebSocket observer on a socket with a tiny receive buffer that reads only when told:
    while it does not read, everything the fan-out sends it queues on the way."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.core = ClientProtocol(parse_uri(url), max_size=2**20)
        self.messages: list[dict[str, Any]] = []
        self.received_bytes = 0

    async def connect(self) -> None:
        uri = parse_uri(self.url)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((uri.host, uri.port))
        sock.setblocking(False)
        # A small stream limit: the transport stops reading after a few KiB it was not asked for.
        self.reader, self.writer = await asyncio.open_connection(sock=sock, limit=1024)
        self.core.send_request(self.core.connect())
        self._flush()
        while not self.messages:  # the 101, then the first snapshot
            await self._read_some(timeout_s=10)

    async def read_until(self, seq: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.messages or self.messages[-1].get("seq") != seq:
            await self._read_some(timeout_s=deadline - time.monotonic())

    async def _read_some(self, timeout_s: float) -> None:
        data = await asyncio.wait_for(self.reader.read(65536), max(0.1, timeout_s))
        assert data, "the fan-out closed the slow observer's socket"
        self.received_bytes += len(data)
        self.core.receive_data(data)
        for event in self.core.events_received():
            if isinstance(event, Response):
                assert event.status_code == 101
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self.messages.append(json.loads(event.data))
        self._flush()

    def _flush(self) -> None:
        for chunk in self.core.data_to_send():
            if chunk:
                self.writer.write(chunk)

    def close(self) -> None:
        self.writer.close()


async def test_a_slow_observer_gets_a_resync_instead_of_a_backlog(stack: Stack) -> None:
    drop = f"fresh-{uuid.uuid4().hex[:8]}"
    producer = kafka_clients.make_producer(
        stack.kafka(stack.regions[0]), "fresh-test", stack.kafka_auth(kafka_auth.RELAY)
    )
    await producer.start()
    try:
        with running_fanout(stack.env, stack.regions[0]) as base:
            url = f"{base}/v1/drops/{drop}/live"
            slow = SlowObserver(url)
            await slow.connect()
            fast = Observer(url)
            watching = asyncio.create_task(fast.run(until_seq=PRICES, timeout_s=120))
            await until_subscribed([fast])
            sent = [
                await producer.send(topics.PRICE, price_event(drop, n).to_json(), key=drop.encode())
                for n in range(1, PRICES + 1)
            ]
            await asyncio.gather(*sent)
            await watching  # every price has been broadcast; the slow one read nothing yet
            await slow.read_until(PRICES, timeout_s=60)
            slow.close()
    finally:
        await producer.stop()
    assert fast.errors == []
    kinds = [(m["type"], m["seq"], m.get("resync", False)) for m in slow.messages]
    assert kinds[0] == ("snapshot", 0, False)
    assert kinds[-1] == ("snapshot", PRICES, True), kinds[-5:]
    # What queued before the socket was paused arrives in order, any jump as a resync.
    last = 0
    for kind, seq, resync in kinds[1:]:
        assert seq == last + 1 or (kind, resync) == ("snapshot", True), kinds
        last = seq
    # Bounded by the buffers on the way (kernel send and receive buffers, the high-water
    # mark), about 50 KiB of ~230-byte frames: nowhere near the 3,000 it fell behind on.
    assert len(kinds) < PRICES // 5, len(kinds)
    assert slow.received_bytes < 150 * 1024
