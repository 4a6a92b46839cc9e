"""A hot drop end to end on the real stack: bids through the gateway in one region, prices to
observers in every region through Redis, the relay, Kafka, MirrorMaker 2 and the fan-outs."""

from __future__ import annotations

import asyncio
import random
import statistics
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from gavel import keys, redis_client
from gavel_devstack.harness import tokens as issuer
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.fanout import Observer, running_fanout, until_subscribed
from gavel_devstack.harness.gateway import running_gateway
from gavel_devstack.harness.relay import relay_settings, running_relay, with_db
from gavel_devstack.harness.stack_env import Stack

E2E_DB = 3  # its own logical database: the relay here drains only this test's drops
OBSERVERS_PER_REGION = 200
BIDDERS = 40
BIDS = 2_000


@pytest.fixture
async def redis(stack: Stack) -> AsyncIterator[Redis]:
    client = redis_client.connect(with_db(stack.redis_url(stack.regions[0]), E2E_DB))
    yield client
    await client.aclose()


async def place_bids(gateway: str, secret: Mapping[str, str], drop: str) -> list[int]:
    """BIDS bids from BIDDERS bidders racing upwards; returns the HTTP statuses."""
    tokens = issuer.mint_many(secret, [f"e2e-{n}" for n in range(BIDDERS)])
    rng = random.Random(11)
    statuses: list[int] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(BIDS):
        queue.put_nowait(i)

    async def bidder(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            body = {"bid_id": f"b{i}", "amount": 1_000 + i * 100 + rng.randrange(0, 150)}
            headers = {"Authorization": f"Bearer {tokens[i % BIDDERS]}"}
            for attempt in range(3):
                try:
                    r = await client.post(f"/v1/drops/{drop}/bids", json=body, headers=headers)
                    break
                except httpx.TransportError:
                    # A bid is idempotent by bid_id: resending after a broken connection is
                    # what a real client does, and returns the first answer if it got through.
                    if attempt == 2:
                        raise
            statuses.append(r.status_code)

    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        await asyncio.gather(*(bidder(client) for _ in range(16)))
    return statuses


def percentiles(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    return statistics.median(values), values[min(len(values) - 1, int(len(values) * 0.99))]


async def test_bids_in_one_region_reach_observers_in_every_region(
    stack: Stack,
    redis: Redis,
    tmp_path: Path,
) -> None:
    home, *others = stack.regions
    assert others, "needs at least two regions"
    env = {**stack.env, f"REDIS_URL_{home.upper()}": with_db(stack.redis_url(home), E2E_DB)}
    rules = await open_test_drop(redis)
    drop = rules.drop_id
    outbox = tmp_path / "outbox"
    final_seq = 1 << 60  # known once bidding ends
    relay = relay_settings(
        env[f"REDIS_URL_{home.upper()}"], stack.kafka(home), region=home, outbox_dir=outbox
    )
    with running_fanout(stack.env, home) as fan_home, running_fanout(stack.env, others[0]) as fan_b:
        observers = {
            region: [Observer(f"{base}/v1/drops/{drop}/live") for _ in range(OBSERVERS_PER_REGION)]
            for region, base in ((home, fan_home), (others[0], fan_b))
        }
        watching = [
            asyncio.create_task(o.run(lambda: final_seq, timeout_s=180))
            for group in observers.values()
            for o in group
        ]
        await until_subscribed((o for group in observers.values() for o in group), 60)
        async with running_relay(relay):
            with running_gateway(
                env, home, outbox, ("--rate-burst", "100000", "--rate-per-second", "100000")
            ) as gw:
                statuses = await place_bids(gw, stack.env, drop)
            state = {
                k.decode(): v.decode()
                for k, v in (await redis.hgetall(keys.for_drop(drop).state)).items()
            }
            final_seq = int(state["seq"])
            await asyncio.gather(*watching)
    assert set(statuses) <= {201, 409}, set(statuses)
    assert statuses.count(201) == final_seq
    assert final_seq > 100, "too few accepted bids to say anything"
    for region, group in observers.items():
        latencies = []
        for o in group:
            assert o.errors == [], (region, o.errors[:3])
            assert o.seq == final_seq, (region, o.seq, final_seq)
            assert o.messages[-1]["high_bid"] == int(state["high_bid"])
            latencies += [
                got - m["decided_ms"]
                for m, got in zip(o.messages, o.received_ms, strict=True)
                if m["type"] == "price"
            ]
        p50, p99 = percentiles(latencies)
        # This process also runs the bidders and every observer socket, so these figures
        # include its own queueing; bench/global_latency measures the path on a quiet machine.
        print(
            f"\n{region}: {len(group)} observers, {final_seq} prices, "
            f"bid accepted -> observer p50 {p50:.0f} ms, p99 {p99:.0f} ms"
        )
