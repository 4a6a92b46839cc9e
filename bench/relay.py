"""Relay benchmark: how fast a relay drains a backlog into Kafka, against producing directly.

What it measures, in one run on one machine, against the local stack's Redis and Kafka:

1. **baseline** — the records of the backlog sent straight from Python with the same idempotent
   producer (``acks=all``), all handed over at once and every acknowledgement awaited: the
   floor for Kafka on this machine, with no Redis in the way;
2. **drain** — ``--attempts`` attempts placed on ``--drops`` drops first, then one relay started
   in-process: time until every stream is empty (read, sent, acknowledged by Kafka, XDEL+XACK);
3. **live** — the relay running while attempts arrive at ``--rate`` per second for
   ``--seconds``: delay from the Redis decision (``decided_ms``) to a consumer receiving the
   audit record (p50 / p99).

Relay entries/s count stream entries; records/s count Kafka records (an accepted attempt is two).
It uses Redis database 8, so it never drains another workload's streams.

Run (needs the local stack's Redis and Kafka)::

    scripts/stack up --only redis,kafka --regions 1
    .venv/bin/python -m bench.relay --attempts 20000 --drops 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from pathlib import Path

from redis.asyncio import Redis
from rich.console import Console
from rich.table import Table

from gavel import (
    auction,
    bidding,
    endpoints,
    kafka_auth,
    kafka_clients,
    keys,
    redis_client,
    topics,
)
from gavel.relay.plan import StreamEntry, plan_batch
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.kafka import KafkaTail
from gavel_devstack.harness.processes import stack_env
from gavel_devstack.harness.relay import (
    drained,
    place_attempts,
    relay_settings,
    running_relay,
    with_db,
)
from gavel_devstack.harness.stack_env import Stack, stack_kafka_auth
from gavel_devstack.harness.waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]
BENCH_DB = 8
console = Console()


async def baseline(redis: Redis, kafka: str, drop_ids: list[str]) -> tuple[float, int]:
    """Records/s producing the backlog's records directly; returns (seconds, records)."""
    entries = []
    for d in drop_ids:
        stream = keys.for_drop(d).events
        entries += [StreamEntry(stream, d, i, f) for i, f in await redis.xrange(stream)]
    records = plan_batch(entries).records
    producer = kafka_clients.make_producer(
        kafka, "bench-baseline", stack_kafka_auth(kafka_auth.RELAY)
    )
    await producer.start()
    try:
        began = time.perf_counter()
        futures = [await producer.send(r.topic, r.value, key=r.key) for r in records]
        await asyncio.gather(*futures)
        return time.perf_counter() - began, len(records)
    finally:
        await producer.stop()


async def drain(url: str, kafka: str, redis: Redis, drop_ids: list[str]) -> float:
    settings = relay_settings(url, kafka, block_ms=50)
    began = time.perf_counter()
    async with running_relay(settings):
        await wait_for(lambda: drained(redis, drop_ids), 600, "drained", interval_s=0.01)
        return time.perf_counter() - began


async def live(url: str, kafka: str, redis: Redis, rate: int, seconds: float) -> list[float]:
    """Delays (ms) from decision to audit record received, at ``rate`` attempts/s."""
    drop_id = (await open_test_drop(redis)).drop_id
    delays: list[float] = []
    async with (
        KafkaTail(kafka, (topics.AUDIT,), keys={drop_id.encode()}) as tail,
        running_relay(relay_settings(url, kafka, block_ms=50)),
    ):
        placed = 0
        began = time.perf_counter()
        while (elapsed := time.perf_counter() - began) < seconds:
            due = int(elapsed * rate)
            while placed < due:
                await bidding.place_bid(
                    redis,
                    bidding.bid_call(
                        drop_id,
                        f"b{placed % 50}",
                        str(uuid.uuid4()),
                        1_000 + placed * 100,
                        event_id=str(uuid.uuid4()),
                        received_ms=int(time.time() * 1000),
                        region="us",
                        limit=auction.RateLimit(10**9, 10**9),
                    ),
                )
                placed += 1
            before = len(tail.seen)
            await tail.poll(timeout_ms=5)
            now_ms = time.time() * 1000
            delays += [now_ms - s.value["decided_ms"] for s in tail.seen[before:]]
        await tail.until(lambda t: len(t.seen) >= placed, 30, "live attempts")
    return delays


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=20_000)
    parser.add_argument("--drops", type=int, default=8)
    parser.add_argument("--rate", type=int, default=1_000, help="attempts/s in the live run")
    parser.add_argument("--seconds", type=float, default=10, help="length of the live run")
    args = parser.parse_args()
    env = stack_env()
    url, kafka = (
        with_db(Stack(env).redis_url("us"), BENCH_DB),
        env[endpoints.kafka_bootstrap_var("us")],
    )
    redis = redis_client.connect(url)
    drop_ids = [(await open_test_drop(redis)).drop_id for _ in range(args.drops)]
    per_drop = args.attempts // args.drops
    with console.status(f"placing {per_drop * args.drops:,} attempts"):
        placed = await place_attempts(url, drop_ids, per_drop, concurrency=32)
    n_entries = len(placed.all)
    n_records = n_entries + len(placed.accepted)
    with console.status("baseline: producing the same records directly"):
        base_s, base_records = await baseline(redis, kafka, drop_ids)
    with console.status("drain: one relay empties the streams"):
        drain_s = await drain(url, kafka, redis, drop_ids)
    with console.status(f"live: {args.rate} attempts/s for {args.seconds:.0f} s"):
        delays = await live(url, kafka, redis, args.rate, args.seconds)
    await redis.aclose()

    table = Table(
        title=f"Relay: {n_entries:,} entries on {args.drops} drops, {os.cpu_count()} cores"
    )
    for col in ("scenario", "seconds", "entries/s", "records/s", "x baseline"):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    base_rps = base_records / base_s
    table.add_row("baseline: produce directly", f"{base_s:.2f}", "-", f"{base_rps:,.0f}", "1.00")
    relay_rps = n_records / drain_s
    table.add_row(
        "relay: drain the backlog",
        f"{drain_s:.2f}",
        f"{n_entries / drain_s:,.0f}",
        f"{relay_rps:,.0f}",
        f"{relay_rps / base_rps:.2f}",
    )
    console.print(table)
    q = statistics.quantiles(delays, n=100)
    console.print(
        f"live: {len(delays):,} attempts at {args.rate}/s, decision -> audit record consumed: "
        f"p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms, max {max(delays):.1f} ms"
    )
    console.print(json.dumps({"drain_entries_per_s": round(n_entries / drain_s)}))


if __name__ == "__main__":
    asyncio.run(main())
