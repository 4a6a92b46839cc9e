"""Gavel's Kafka clients against a real broker: idempotent produce, manual-commit consume."""

from __future__ import annotations

import uuid

from gavel import kafka_auth, kafka_clients, topics
from gavel_devstack.harness.stack_env import Stack


async def test_idempotent_producer_round_trips_through_a_real_broker(stack: Stack) -> None:
    bootstrap = stack.kafka(stack.regions[0])
    producer = kafka_clients.make_producer(
        bootstrap, "smoke-producer", stack.kafka_auth(kafka_auth.RELAY)
    )
    # aiokafka keeps its settings privately; these are what the broker-facing code uses.
    assert producer._sender._acks == -1  # acks=all
    assert producer._txn_manager is not None  # idempotence on
    await producer.start()
    try:
        assert producer._txn_manager.producer_id >= 0  # the broker gave us a producer id
        key = f"smoke-{uuid.uuid4().hex}".encode()
        meta = await producer.send_and_wait(topics.AUDIT, b"hello", key=key)
    finally:
        await producer.stop()

    consumer = kafka_clients.make_consumer(
        bootstrap=bootstrap,
        group_id=f"gavel-audit-writer-smoke-{uuid.uuid4().hex}",
        client_id="smoke-consumer",
        auth=stack.kafka_auth(kafka_auth.AUDIT_WRITER),
    )
    from aiokafka import TopicPartition

    tp = TopicPartition(topics.AUDIT, meta.partition)
    await consumer.start()
    try:
        consumer.assign([tp])
        consumer.seek(tp, meta.offset)
        batch = await consumer.getmany(tp, timeout_ms=10_000)
        record = batch[tp][0]
        assert (record.key, record.value) == (key, b"hello")
        await consumer.commit({tp: meta.offset + 1})
        assert await consumer.committed(tp) == meta.offset + 1
    finally:
        await consumer.stop()
