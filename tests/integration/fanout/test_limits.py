"""gavel fanout keeps its state bounded: random drop names cost nothing once their sockets close,
and one client address cannot take more than its share of handshakes or sockets."""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from gavel_devstack.harness.fanout import running_fanout
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import wait_for

NOT_LOOPBACK = "192.0.2.0/24"
"""TEST-NET-1 (no client here): trusting only it puts the tests' loopback clients under limits."""


def gauge(metrics: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{name}{re.escape(labels)} (\S+)$", metrics, re.M)
    assert match, f"{name}{labels} not in /metrics"
    return float(match.group(1))


async def scrape(base: str) -> str:
    async with httpx.AsyncClient() as http:
        return (await http.get(base.replace("ws://", "http://") + "/metrics")).text


async def first_message(url: str) -> dict[str, object]:
    async with websockets.connect(url) as ws:
        return json.loads(await asyncio.wait_for(ws.recv(), 10))


async def test_thousands_of_random_drop_names_leave_no_state_behind(stack: Stack) -> None:
    with running_fanout(stack.env, stack.regions[0]) as base:
        before = await scrape(base)
        names = [f"nobody-{uuid.uuid4().hex[:12]}" for _ in range(2_000)]
        for batch in range(0, len(names), 200):
            firsts = await asyncio.gather(
                *(first_message(f"{base}/v1/drops/{n}/live") for n in names[batch : batch + 200])
            )
            assert {(m["type"], m["seq"], m["high_bid"]) for m in firsts} == {("snapshot", 0, None)}

        async def all_freed() -> bool:
            after = await scrape(base)
            return gauge(after, "gavel_fanout_watched_drops") == 0 and gauge(
                after, "gavel_fanout_connections"
            ) == gauge(before, "gavel_fanout_connections")

        await wait_for(all_freed, 15, "every random drop's watcher entry freed")
        after = await scrape(base)
        # Feeds come only from Kafka's price topics, never from a subscription.
        assert gauge(after, "gavel_fanout_drops") == gauge(before, "gavel_fanout_drops")


async def test_one_address_gets_a_bounded_number_of_sockets(stack: Stack) -> None:
    args = ("--trusted-network", NOT_LOOPBACK, "--sockets-per-address", "3")
    with running_fanout(stack.env, stack.regions[0], *args) as base:
        url = f"{base}/v1/drops/limit-{uuid.uuid4().hex[:8]}/live"
        held = [await websockets.connect(url) for _ in range(3)]
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(url)
        assert refused.value.response.status_code == 429
        assert refused.value.response.headers["Retry-After"] == "1"
        await held.pop().close()

        async def admitted_again() -> bool:
            try:
                held.append(await websockets.connect(url))
            except InvalidStatus:
                return False
            return True

        await wait_for(admitted_again, 10, "a socket once another one closed")
        for ws in held:
            await ws.close()
        metrics = await scrape(base)
        assert gauge(metrics, "gavel_fanout_refused_total", '{reason="address_open_sockets"}') >= 1


async def test_one_address_gets_a_bounded_rate_of_handshakes(stack: Stack) -> None:
    args = ("--trusted-network", NOT_LOOPBACK, "--handshakes-per-address", "1")
    with running_fanout(stack.env, stack.regions[0], *args) as base:
        url = f"{base}/v1/drops/rate-{uuid.uuid4().hex[:8]}/live"
        statuses = []
        for _ in range(4):  # a burst of two, then one a second
            try:
                await (await websockets.connect(url)).close()
                statuses.append(101)
            except InvalidStatus as exc:
                statuses.append(exc.response.status_code)
        assert statuses[:2] == [101, 101]
        assert 429 in statuses[2:]
        metrics = await scrape(base)
        assert (
            gauge(metrics, "gavel_fanout_refused_total", '{reason="address_handshake_rate"}') >= 1
        )
