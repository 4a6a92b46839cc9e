"""Global latency benchmark: a bid accepted in region A, seen by observers in region B.

Runs the real path on the local stack — gateway and relay in A, Kafka in A, MirrorMaker 2 into
B, a fan-out in each region — places bids at a sustained rate through A's gateway (every bid
raises the price, so every bid is accepted and published) and measures, per accepted bid, the
time from the Redis decision (``decided_ms``, the Redis clock; everything runs on one machine)
to:

* **A kafka**: the record arriving in A's ``gavel.price`` (gateway -> Redis -> relay -> Kafka);
* **B kafka**: its copy arriving in B's ``<A>.gavel.price`` (+ MirrorMaker 2);
* **A observers** / **B observers**: a WebSocket observer of the fan-out in that region.

The baseline is A's observers (no MirrorMaker on their path); B's ratio to it, and the
difference between B and A, show what MirrorMaker 2 adds. Goal: B observers p99 < 200 ms.

Run (needs a stack with at least two regions)::

    scripts/stack up --regions 2
    .venv/bin/python -m bench.global_latency --rate 50 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import websockets
from aiokafka import AIOKafkaConsumer
from rich.console import Console
from rich.table import Table

from gavel import auction, drops, endpoints, kafka_auth, redis_client, topics
from gavel_devstack.harness import tokens
from gavel_devstack.harness.fanout import running_fanout
from gavel_devstack.harness.gateway import running_gateway
from gavel_devstack.harness.processes import stack_env, stop_process
from gavel_devstack.harness.relay import relay_process, relay_settings, with_db
from gavel_devstack.harness.stack_env import Stack, stack_kafka_auth

ROOT = Path(__file__).resolve().parents[1]
BENCH_DB = 4  # its own logical database: this relay drains only the benchmark's drop
console = Console(width=150)


async def open_drop(redis_url: str, home: str) -> str:
    redis = redis_client.connect(redis_url)
    seconds, micros = await redis.time()
    now = seconds * 1000 + micros // 1000
    rules = auction.Rules(
        drop_id=f"lat-{int(time.time())}",
        home_region=home,
        currency="EUR",
        start_price=1_000,
        reserve=0,
        increments=(auction.IncrementStep(0, 1),),
        opens_at_ms=now - 1_000,
        ends_at_ms=now + 3_600_000,
    )
    await drops.open_drop(redis, rules)
    await redis.aclose()
    return rules.drop_id


async def observe(url: str, samples: list[float], stop: asyncio.Event) -> None:
    async with websockets.connect(url) as ws:
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            now = time.time() * 1000
            msg = json.loads(raw)
            if msg["type"] == "price":
                samples.append(now - msg["decided_ms"])


async def tail_kafka(
    bootstrap: str, topic: str, drop: str, samples: list[float], stop: asyncio.Event
) -> None:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="latest",
        enable_auto_commit=False,
        fetch_max_wait_ms=10,
        **kafka_auth.client_settings(stack_kafka_auth(kafka_auth.FANOUT)),
    )
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200)
            now = time.time() * 1000
            for records in batch.values():
                for r in records:
                    event = json.loads(r.value)
                    if event["drop"] == drop:
                        samples.append(now - event["decided_ms"])
    finally:
        await consumer.stop()


async def bid_steadily(gateway: str, token: str, drop: str, rate: float, seconds: float) -> int:
    accepted = 0
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as http:
        began = time.perf_counter()
        n = 0
        while time.perf_counter() - began < seconds:
            n += 1
            r = await http.post(
                f"/v1/drops/{drop}/bids",
                json={"bid_id": f"l{n}", "amount": 1_000 + n},
                headers={"Authorization": f"Bearer {token}"},
            )
            accepted += r.status_code == 201
            await asyncio.sleep(max(0.0, began + n / rate - time.perf_counter()))
    return accepted


def summary(samples: list[float]) -> tuple[float, float, float]:
    s = sorted(samples)
    return statistics.median(s), s[min(len(s) - 1, int(len(s) * 0.99))], s[-1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0, help="bids per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--observers", type=int, default=5, help="per region")
    args = parser.parse_args()
    env = stack_env()
    home, other = endpoints.regions(env)[:2]
    run_env = {
        **env,
        endpoints.redis_url_var(home): with_db(env[endpoints.redis_url_var(home)], BENCH_DB),
    }
    redis_url = with_db(Stack(env).redis_url(home), BENCH_DB)
    drop = await open_drop(redis_url, home)
    token = tokens.mint(env, "latency-bench")
    work = Path(tempfile.mkdtemp(prefix="gavel-latency-"))
    relay = relay_process(
        relay_settings(
            redis_url,
            env[endpoints.kafka_bootstrap_var(home)],
            region=home,
            outbox_dir=work / "outbox",
        ),
        work / "relay.log",
    )
    samples: dict[str, list[float]] = {
        f"{home} kafka": [],
        f"{other} kafka (after MM2)": [],
        f"{home} observers": [],
        f"{other} observers": [],
    }
    stop = asyncio.Event()
    try:
        with (
            running_fanout(env, home) as fan_a,
            running_fanout(env, other) as fan_b,
            running_gateway(
                run_env,
                home,
                work / "outbox",
                ("--rate-burst", "1000000", "--rate-per-second", "1000000"),
            ) as gw,
        ):
            tasks = [
                asyncio.create_task(
                    tail_kafka(
                        env[endpoints.kafka_bootstrap_var(home)],
                        topics.PRICE,
                        drop,
                        samples[f"{home} kafka"],
                        stop,
                    )
                ),
                asyncio.create_task(
                    tail_kafka(
                        env[endpoints.kafka_bootstrap_var(other)],
                        topics.mirrored(topics.PRICE, home),
                        drop,
                        samples[f"{other} kafka (after MM2)"],
                        stop,
                    )
                ),
            ]
            for base, key in ((fan_a, f"{home} observers"), (fan_b, f"{other} observers")):
                tasks += [
                    asyncio.create_task(observe(f"{base}/v1/drops/{drop}/live", samples[key], stop))
                    for _ in range(args.observers)
                ]
            await asyncio.sleep(2)
            with console.status(f"bidding at {args.rate:g}/s for {args.seconds:g} s"):
                accepted = await bid_steadily(gw, token, drop, args.rate, args.seconds)
            await asyncio.sleep(3)  # let the last prices arrive everywhere
            stop.set()
            await asyncio.gather(*tasks)
    finally:
        stop_process(relay)

    _, base_p99, _ = summary(samples[f"{home} observers"])
    table = Table(
        title=f"Bid accepted in {home} -> seen: {accepted} bids at {args.rate:g}/s, "
        f"{args.observers} observers per region"
    )
    for col in ("where", "samples", "p50 ms", "p99 ms", "max ms", f"p99 vs {home} observers"):
        table.add_column(col, justify="left" if col == "where" else "right")
    for name, values in samples.items():
        p50, p99, worst = summary(values)
        table.add_row(
            name,
            f"{len(values):,}",
            f"{p50:.1f}",
            f"{p99:.1f}",
            f"{worst:.1f}",
            f"{p99 / base_p99:.2f}",
        )
    console.print(table)
    mm2 = summary(samples[f"{other} kafka (after MM2)"])[0] - summary(samples[f"{home} kafka"])[0]
    console.print(
        f"MirrorMaker 2 adds ~{mm2:.1f} ms at the median; goal: {other} observers p99 < 200 ms."
    )


if __name__ == "__main__":
    asyncio.run(main())
