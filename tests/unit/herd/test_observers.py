"""The herd's observer client against a small WebSocket server speaking the fan-out protocol:
it folds what it gets and, once cut, comes back with ``since``."""

from __future__ import annotations

import asyncio
import json
import random

from websockets.asyncio.server import ServerConnection, serve

from gavel.herd.observers import Observer
from gavel.herd.records import RegionSightings
from gavel_devstack.harness.waiting import wait_for

DROP = "d-obs"


def price(seq: int) -> str:
    return json.dumps(
        {"type": "price", "drop": DROP, "seq": seq, "high_bid": 1_000 + seq, "decided_ms": 1}
    )


async def test_an_observer_folds_prices_and_resumes_with_since_after_a_cut() -> None:
    paths: list[str] = []

    async def fan_out(ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else ""
        paths.append(path)
        if "since=" not in path:
            await ws.send(
                json.dumps(
                    {"type": "snapshot", "resync": False, "drop": DROP, "seq": 0, "high_bid": None}
                )
            )
            for seq in (1, 2):
                await ws.send(price(seq))
            return  # the server cuts the socket
        since = int(path.rsplit("=", 1)[1])
        for seq in range(since + 1, 5):
            await ws.send(price(seq))
        await ws.wait_closed()

    async with serve(fan_out, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        sightings = RegionSightings("eu")
        observer = Observer(
            f"ws://127.0.0.1:{port}", DROP, sightings.observer("o"), sightings, random.Random(1)
        )
        stop = asyncio.Event()
        task = asyncio.create_task(observer.run(stop))

        async def caught_up() -> bool:
            return observer.view.seq == 4

        await wait_for(caught_up, 5, "the observer at seq 4", interval_s=0.05)
        stop.set()
        await asyncio.wait_for(task, 5)
    view = observer.view
    assert (view.seq, view.high_bid, view.connects, view.anomalies) == (4, 1_004, 2, [])
    assert paths == [f"/v1/drops/{DROP}/live", f"/v1/drops/{DROP}/live?since=2"]
    assert sightings.latency.summary().count == 4
