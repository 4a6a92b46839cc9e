"""Observers per region on real fan-outs and real Redis: each fan-out process records its sockets
of a drop in its own region's Redis, the region's count is the sum over its processes, the peak
stays after everyone left, and a name no region has leaves no key."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import websockets
from redis.asyncio import Redis

from gavel import drops, keys, observer_hash, redis_client
from gavel.observer_hash import RegionObservers
from gavel_devstack.harness.drops import open_test_drop, redis_now_ms
from gavel_devstack.harness.fanout import running_fanout
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import wait_for


async def observed(redis: Redis, drop: str) -> RegionObservers:
    raw = await redis.hgetall(keys.for_drop(drop).observers)
    return observer_hash.figures(raw, await redis_now_ms(redis))


async def until(redis: Redis, drop: str, what: str, **expected: int) -> None:
    async def reached() -> bool:
        got = await observed(redis, drop)
        return all(getattr(got, k) == v for k, v in expected.items())

    await wait_for(reached, 30, f"{what}: {expected}")


@pytest.fixture
async def regions(stack: Stack) -> AsyncIterator[dict[str, Redis]]:
    clients = {r: redis_client.connect(stack.redis_url(r)) for r in stack.regions[:2]}
    yield clients
    for client in clients.values():
        await client.aclose()


async def test_each_region_records_its_observers_and_keeps_their_peak(
    stack: Stack, regions: dict[str, Redis]
) -> None:
    us, eu = regions
    rules = await open_test_drop(regions[us], home_region=us)
    await drops.write_rules_copy(regions[eu], rules)
    drop, nobody = rules.drop_id, f"{rules.drop_id}-unknown"
    with (
        running_fanout(stack.env, us) as us_a,
        running_fanout(stack.env, eu) as eu_a,
        running_fanout(stack.env, eu) as eu_b,
    ):
        async with contextlib.AsyncExitStack() as sockets:
            for base, n in ((us_a, 2), (eu_a, 1), (eu_b, 2)):
                for _ in range(n):
                    await sockets.enter_async_context(
                        websockets.connect(f"{base}/v1/drops/{drop}/live")
                    )
            await sockets.enter_async_context(websockets.connect(f"{us_a}/v1/drops/{nobody}/live"))
            await until(regions[us], drop, "us while watching", current=2, peak=2, processes=1)
            await until(regions[eu], drop, "eu: two processes", current=3, peak=3, processes=2)
            async with httpx.AsyncClient() as http:
                text = (await http.get(f"{us_a.replace('ws://', 'http://')}/metrics")).text
            assert f'gavel_fanout_drop_observers{{drop="{drop}"}} 2.0' in text
            assert nobody not in text  # no series for a name this region does not have
        # Everyone left: the counts fall at the next report, the peaks stay.
        await until(regions[us], drop, "us after leaving", current=0, peak=2, processes=0)
        await until(regions[eu], drop, "eu after leaving", current=0, peak=3, processes=0)
        came_back = await websockets.connect(f"{eu_a}/v1/drops/{drop}/live")
        await until(regions[eu], drop, "eu, one came back", current=1, peak=3, processes=1)
    # The fan-outs stopped with that socket open: their last report took it out at once.
    with contextlib.suppress(websockets.ConnectionClosed):
        await came_back.close()
    for region, peak in ((us, 2), (eu, 3)):
        after = await observed(regions[region], drop)
        assert (after.processes, after.current, after.peak) == (0, 0, peak), region
        assert after.peak_ms is not None
    assert not await regions[us].exists(keys.for_drop(nobody).observers)
