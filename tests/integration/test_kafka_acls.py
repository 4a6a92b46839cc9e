"""Each workload's Kafka user refused outside its rights, on the stack's real brokers.

The stack runs every region's Kafka with SASL/SCRAM and StandardAuthorizer
(gavel_devstack.kafka_security); the rights are gavel.kafka_acls'. Every refusal is paired
with the same call by the user whose job it is, so a test cannot pass because Kafka is down.
"""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)

from gavel import kafka_auth, topics
from gavel.audit.settings import DEFAULT_GROUP
from gavel_devstack.harness.stack_env import Stack

TOPIC_AUTHORIZATION_FAILED = 29


def _auth(stack: Stack, role: str) -> kafka_auth.KafkaAuth:
    auth = stack.kafka_auth(role)
    assert auth is not None, f"the stack exports no Kafka credential for {role}"
    return auth


async def _produce(stack: Stack, role: str, topic: str) -> None:
    """One record to ``topic`` as ``role``, with a plain (non-idempotent) producer, so the
    broker's answer is about the topic, not about producer ids."""
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.kafka(stack.regions[0]),
        request_timeout_ms=10_000,
        **kafka_auth.client_settings(_auth(stack, role)),
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"{}", key=f"acl-{uuid.uuid4().hex[:8]}".encode())
    finally:
        await producer.stop()


async def _read(stack: Stack, role: str, topic: str, group: str | None) -> None:
    """Fetch (and, in a group, commit) the first partition of ``topic`` as ``role``."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack.kafka(stack.regions[0]),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **kafka_auth.client_settings(_auth(stack, role)),
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_end(tp)
        position = await consumer.position(tp)
        await consumer.getmany(tp, timeout_ms=200)
        if group is not None:
            await consumer.commit({tp: position})
    finally:
        await consumer.stop()


async def test_a_fanout_cannot_produce_prices_the_relay_can(stack: Stack) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await _produce(stack, kafka_auth.FANOUT, topics.PRICE)
    await _produce(stack, kafka_auth.RELAY, topics.PRICE)


async def test_the_audit_writer_cannot_write_the_audit_or_price_topics(stack: Stack) -> None:
    for topic in (topics.AUDIT, topics.PRICE):
        with pytest.raises(TopicAuthorizationFailedError):
            await _produce(stack, kafka_auth.AUDIT_WRITER, topic)
    # Its dead letters are its own to write.
    await _produce(stack, kafka_auth.AUDIT_WRITER, topics.AUDIT_DEAD_LETTER)


async def test_the_relay_cannot_read_the_audit_topic_in_the_writers_group(stack: Stack) -> None:
    group = f"{DEFAULT_GROUP}-acl-{uuid.uuid4().hex[:8]}"
    with pytest.raises((GroupAuthorizationFailedError, TopicAuthorizationFailedError)):
        await _read(stack, kafka_auth.RELAY, topics.AUDIT, group)
    with pytest.raises((GroupAuthorizationFailedError, TopicAuthorizationFailedError)):
        await _read(stack, kafka_auth.RELAY, topics.AUDIT, None)
    await _read(stack, kafka_auth.AUDIT_WRITER, topics.AUDIT, group)


async def _topic_errors(stack: Stack, role: str, names: list[str]) -> dict[str, int]:
    """Kafka's error code per topic in a metadata answer to ``role`` (0: it may see it)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=stack.kafka(stack.regions[0]),
        **kafka_auth.client_settings(_auth(stack, role)),
    )
    await admin.start()
    try:
        return {t["topic"]: t["error_code"] for t in await admin.describe_topics(names)}
    finally:
        await admin.close()


async def test_a_fanout_reads_prices_and_their_copies_but_not_the_audit(stack: Stack) -> None:
    for topic in topics.price_topics(stack.regions[0], stack.regions):
        await _read(stack, kafka_auth.FANOUT, topic, None)
    # It may not even learn that the audit topic exists (a consumer would wait for it forever).
    errors = await _topic_errors(stack, kafka_auth.FANOUT, [topics.AUDIT, topics.PRICE])
    assert errors == {topics.AUDIT: TOPIC_AUTHORIZATION_FAILED, topics.PRICE: 0}
    with pytest.raises(GroupAuthorizationFailedError):
        await _read(stack, kafka_auth.FANOUT, topics.PRICE, f"{DEFAULT_GROUP}-fanout")


async def test_mirrormaker_cannot_write_a_regions_own_prices(stack: Stack) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await _produce(stack, kafka_auth.MIRROR, topics.PRICE)


async def test_the_relay_cannot_delete_topics(stack: Stack) -> None:
    bootstrap = stack.kafka(stack.regions[0])
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, **kafka_auth.client_settings(_auth(stack, kafka_auth.RELAY))
    )
    await admin.start()
    try:
        response = await admin.delete_topics([topics.AUDIT])
    finally:
        await admin.close()
    codes = {name: code for name, code, *_ in response.topic_error_codes}
    assert codes == {topics.AUDIT: TOPIC_AUTHORIZATION_FAILED}
    superuser = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, **kafka_auth.client_settings(_auth(stack, kafka_auth.ADMIN))
    )
    await superuser.start()
    try:
        assert topics.AUDIT in await superuser.list_topics()
    finally:
        await superuser.close()


async def test_a_wrong_password_is_refused(stack: Stack) -> None:
    relay = _auth(stack, kafka_auth.RELAY)
    wrong = kafka_auth.KafkaAuth(relay.username, relay.password + "-not")
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.kafka(stack.regions[0]), **kafka_auth.client_settings(wrong)
    )
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()


async def test_no_credential_at_all_is_refused(stack: Stack) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka(stack.regions[0]))
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()
