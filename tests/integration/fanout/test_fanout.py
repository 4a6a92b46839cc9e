"""gavel fanout on real Kafka and MirrorMaker 2: snapshots, live prices, reconnects, restarts."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import websockets
from aiokafka import AIOKafkaProducer

from gavel import kafka_auth, kafka_clients, topics
from gavel.events import PriceEvent
from gavel_devstack.harness.fanout import Observer, price_event, running_fanout, until_subscribed
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import wait_for


def price(drop: str, seq: int) -> PriceEvent:
    return price_event(drop, seq)


@pytest.fixture
async def producer(stack: Stack) -> AsyncIterator[AIOKafkaProducer]:
    p = kafka_clients.make_producer(
        stack.kafka(stack.regions[0]), "fanout-test", stack.kafka_auth(kafka_auth.RELAY)
    )
    await p.start()
    yield p
    await p.stop()


async def send(producer: AIOKafkaProducer, events: list[PriceEvent]) -> None:
    futures = [await producer.send(topics.PRICE, e.to_json(), key=e.drop.encode()) for e in events]
    await asyncio.gather(*futures)


async def first_message(url: str) -> dict[str, object]:
    async with websockets.connect(url) as ws:
        return json.loads(await asyncio.wait_for(ws.recv(), 10))


async def test_prices_reach_observers_in_the_home_region_and_through_mirrormaker(
    stack: Stack,
    producer: AIOKafkaProducer,
) -> None:
    home, other = stack.regions[0], stack.regions[1]
    drop = f"fan-{uuid.uuid4().hex[:8]}"
    with running_fanout(stack.env, home) as a, running_fanout(stack.env, other) as b:
        observers = [Observer(f"{base}/v1/drops/{drop}/live") for base in (a, a, b, b)]
        watching = [asyncio.create_task(o.run(until_seq=20, timeout_s=60)) for o in observers]
        await until_subscribed(observers)
        events = [price(drop, n) for n in range(1, 21)]
        await send(producer, events[:10] + events[5:10] + events[10:])  # with duplicates
        await asyncio.gather(*watching)
    for o in observers:
        assert o.errors == []
        assert [m["seq"] for m in o.messages] == list(range(21)), o.url  # snapshot 0, 1..20
        assert o.messages[-1]["high_bid"] == 1_020


async def test_reconnect_since_and_restart_rebuilds_state(
    stack: Stack, producer: AIOKafkaProducer
) -> None:
    home = stack.regions[0]
    drop = f"fan-{uuid.uuid4().hex[:8]}"
    await send(producer, [price(drop, n) for n in range(1, 8)])
    with running_fanout(stack.env, home) as a:  # starts after the bids: replays them
        snap = await first_message(f"{a}/v1/drops/{drop}/live")
        assert (snap["type"], snap["seq"], snap["resync"]) == ("snapshot", 7, False)
        async with websockets.connect(f"{a}/v1/drops/{drop}/live?since=4") as ws:
            got = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(3)]
        assert [(m["type"], m["seq"]) for m in got] == [("price", 5), ("price", 6), ("price", 7)]
        again = await first_message(f"{a}/v1/drops/{drop}/live?since=99")
        assert (again["type"], again["seq"], again["resync"]) == ("snapshot", 7, True)


async def test_health_metrics_and_bad_requests(stack: Stack) -> None:
    with running_fanout(
        stack.env, stack.regions[0], "--allow-origin", "https://gavel.example"
    ) as a:
        http = a.replace("ws://", "http://")
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{http}/healthz")).status_code == 200
            assert "gavel_fanout_connections" in (await client.get(f"{http}/metrics")).text
            assert (await client.get(f"{http}/nowhere")).status_code == 404
        with pytest.raises(websockets.InvalidStatus) as refused:
            await first_message(f"{a}/v1/drops/x/live?since=-1")
        assert refused.value.response.status_code == 400
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(f"{a}/v1/drops/x/live", origin="https://evil.example"):
                pass
        assert refused.value.response.status_code == 403
        async with websockets.connect(f"{a}/v1/drops/x/live", origin="https://gavel.example") as ws:
            assert json.loads(await ws.recv())["type"] == "snapshot"


async def test_a_stuck_observer_never_delays_the_others(
    stack: Stack, producer: AIOKafkaProducer
) -> None:
    drop = f"fan-{uuid.uuid4().hex[:8]}"
    with running_fanout(stack.env, stack.regions[0]) as a:
        host, port = a.removeprefix("ws://").split(":")
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect((host, int(port)))
        stuck.sendall(  # a valid handshake, then never read a byte
            f"GET /v1/drops/{drop}/live HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        fast = Observer(f"{a}/v1/drops/{drop}/live")
        watching = asyncio.create_task(fast.run(until_seq=20_000, timeout_s=120))
        # Both sockets subscribed before the flood: the stuck one must be behind from the start.
        await until_subscribed([fast])

        async def both_subscribed() -> bool:
            return await connections(a) == 2

        await wait_for(both_subscribed, 30, "the stuck socket subscribed")
        await send(producer, [price(drop, n) for n in range(1, 20_001)])
        await watching
        stuck.close()
        conflated = await fanout_metric(a, "gavel_fanout_conflated_total")
    assert fast.errors == []
    assert fast.seq == 20_000
    assert conflated > 0, "the stuck socket was never paused"


async def connections(base: str) -> float:
    return await fanout_metric(base, "gavel_fanout_connections")


async def fanout_metric(base: str, name: str) -> float:
    """The value of the sample ``name`` on the fan-out's /metrics (0 if it has none)."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{base.replace('ws://', 'http://')}/metrics")).text
    for line in text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[-1])
    return 0.0
