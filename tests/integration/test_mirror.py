"""MirrorMaker 2 on the local stack: a price produced in one region arrives in every other."""

from __future__ import annotations

import time
import uuid

from aiokafka import AIOKafkaConsumer

from gavel import kafka_auth, kafka_clients, topics
from gavel_devstack.harness.stack_env import Stack


async def test_price_record_is_mirrored_to_every_other_region(stack: Stack) -> None:
    source, *targets = stack.regions
    assert targets, "mirroring needs at least two regions"
    copy_topic = topics.mirrored(topics.PRICE, source)
    consumers = {}
    for region in targets:
        c = AIOKafkaConsumer(
            copy_topic,
            bootstrap_servers=stack.kafka(region),
            enable_auto_commit=False,
            auto_offset_reset="latest",
            # As a fan-out of the target region, which reads the copies.
            **kafka_auth.client_settings(stack.kafka_auth(kafka_auth.FANOUT)),
        )
        await c.start()
        await c.seek_to_end()
        for tp in c.assignment():  # pin the position before producing
            await c.position(tp)
        consumers[region] = c
    marker = uuid.uuid4().hex.encode()
    producer = kafka_clients.make_producer(
        stack.kafka(source), "mirror-smoke", stack.kafka_auth(kafka_auth.RELAY)
    )
    await producer.start()
    try:
        sent = time.monotonic()
        await producer.send_and_wait(topics.PRICE, marker, key=b"smoke-drop")
    finally:
        await producer.stop()
    try:
        for region, consumer in consumers.items():
            deadline = time.monotonic() + 60
            got = None
            while got is None and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                got = next((r for rs in batch.values() for r in rs if r.value == marker), None)
            assert got is not None, f"{source} -> {region}: not mirrored within 60 s"
            print(
                f"\nMirrorMaker 2 {source} -> {region}: "
                f"{(time.monotonic() - sent) * 1000:.0f} ms ({copy_topic})"
            )
            assert got.key == b"smoke-drop"
    finally:
        for c in consumers.values():
            await c.stop()
