"""Does a long ``fetch.max.wait.ms`` cost latency? Produce -> consume with short and long waits.

With ``fetch.min.bytes=1`` the broker parks a fetch that finds nothing and answers it as soon
as a record is appended, so ``fetch.max.wait.ms`` should only bound how often an idle consumer
polls, not how late a record arrives. This measures it on the stack's real Kafka: a producer
sends records at random moments (so they land anywhere inside a parked fetch), and consumers
with each wait, run in turns in the same process, time each record from send to receipt.
The baseline is the shortest wait of the run (Gavel's consumers used 50 ms, MirrorMaker 20 ms).

Run with a stack up (any region's Kafka)::

    scripts/stack up --only kafka --regions 1
    .venv/bin/python -m bench.fetch_wait --waits 20,500 --records 200 --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from rich.console import Console
from rich.table import Table

from gavel import kafka_clients
from gavel_devstack.harness.processes import stack_env

console = Console(width=120)


async def one_round(bootstrap: str, topic: str, wait_ms: int, records: int) -> list[float]:
    """Send ``records`` records 20-200 ms apart; the latency of each, in ms."""
    settings = kafka_clients.consumer_settings(bootstrap, None, f"bench-fetch-{wait_ms}")
    settings["fetch_max_wait_ms"] = wait_ms
    consumer = AIOKafkaConsumer(**settings)
    producer = kafka_clients.make_producer(bootstrap, "bench-fetch")
    await consumer.start()
    await producer.start()
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    await consumer.seek_to_end(tp)
    sent: dict[bytes, float] = {}
    got: list[float] = []

    async def receive() -> None:
        while len(got) < records:
            batch = await consumer.getmany(timeout_ms=1000)
            now = time.perf_counter()
            got.extend((now - sent[r.value]) * 1000 for rs in batch.values() for r in rs)

    try:
        reader = asyncio.create_task(receive())
        # Let the consumer park its first fetch before anything is sent.
        await asyncio.sleep(1.0)
        for i in range(records):
            await asyncio.sleep(random.uniform(0.02, 0.2))
            key = f"{wait_ms}-{i}".encode()
            sent[key] = time.perf_counter()
            await producer.send(topic, key, partition=0)
        await asyncio.wait_for(reader, 30)
    finally:
        await producer.stop()
        await consumer.stop()
    return got


def q(xs: list[float], p: float) -> float:
    return statistics.quantiles(xs, n=100)[int(p) - 1] if len(xs) > 1 else xs[0]


async def main_async(waits: list[int], records: int, rounds: int) -> None:
    bootstrap = next(v for k, v in stack_env().items() if k.startswith("KAFKA_BOOTSTRAP"))
    topic = f"bench.fetch-wait.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 1, 1)])
    samples: dict[int, list[float]] = {w: [] for w in waits}
    try:
        for r in range(rounds):
            for w in waits if r % 2 == 0 else reversed(waits):
                console.print(f"round {r + 1}: fetch.max.wait.ms={w}")
                samples[w] += await one_round(bootstrap, topic, w, records)
    finally:
        await admin.delete_topics([topic])
        await admin.close()
    base = samples[min(waits)]
    t = Table(title=f"produce -> consume on {bootstrap}, fetch.min.bytes=1, {rounds} rounds")
    for col in ("fetch.max.wait.ms", "records", "p50 ms", "p99 ms", "max ms", "p50 x baseline"):
        t.add_column(col, justify="right")
    for w in waits:
        xs = samples[w]
        t.add_row(
            str(w),
            str(len(xs)),
            f"{q(xs, 50):.2f}",
            f"{q(xs, 99):.2f}",
            f"{max(xs):.2f}",
            f"{q(xs, 50) / q(base, 50):.2f}",
        )
    console.print(t)
    console.print(f"baseline: the shortest wait ({min(waits)} ms) in the same run")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--waits", default="20,500", help="fetch.max.wait.ms values, comma-separated"
    )
    parser.add_argument("--records", type=int, default=200, help="records per round and wait")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    waits = sorted(int(w) for w in args.waits.split(","))
    asyncio.run(main_async(waits, args.records, args.rounds))


if __name__ == "__main__":
    main()
