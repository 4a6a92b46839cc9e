"""Kafka clients configured the one way Gavel uses them.

Every producer of bid events must be idempotent with ``acks=all`` (aiokafka's defaults are
``acks=1`` and no idempotence, which can lose or duplicate an acknowledged event when a leader
changes), and every consumer commits offsets itself, after its side effect is durable (aiokafka
defaults to auto-commit). The settings live here, in plain dicts a test can assert on, and the
factories only pass them through. ``auth`` adds the workload's SASL credential
(:mod:`gavel.kafka_auth`); None is a client without authentication.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from gavel.kafka_auth import KafkaAuth, client_settings


def producer_settings(
    bootstrap: str, client_id: str, auth: KafkaAuth | None = None
) -> dict[str, Any]:
    """Settings of every Gavel producer."""
    return client_settings(auth) | {
        "bootstrap_servers": bootstrap,
        "client_id": client_id,
        "enable_idempotence": True,
        "acks": "all",
        # A bid event is small and latency-bound: send at once, batch only what queued up.
        "linger_ms": 0,
        "request_timeout_ms": 10_000,
        "retry_backoff_ms": 100,
    }


def consumer_settings(
    bootstrap: str, group_id: str | None, client_id: str, auth: KafkaAuth | None = None
) -> dict[str, Any]:
    """Settings of every Gavel consumer: manual commits, start from the earliest record."""
    return client_settings(auth) | {
        "bootstrap_servers": bootstrap,
        "group_id": group_id,
        "client_id": client_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        # With fetch_min_bytes=1 (aiokafka's default, set here so nobody raises it unseen) the
        # broker answers a waiting fetch at the first record: the wait only bounds idle polls,
        # and 50 ms made every idle consumer 20 fetch round trips a second (docs/performance.md).
        "fetch_min_bytes": 1,
        "fetch_max_wait_ms": 500,
        "isolation_level": "read_uncommitted",
    }


def make_producer(
    bootstrap: str, client_id: str, auth: KafkaAuth | None = None
) -> AIOKafkaProducer:
    return AIOKafkaProducer(**producer_settings(bootstrap, client_id, auth))


def make_consumer(
    *topics: str,
    bootstrap: str,
    group_id: str | None,
    client_id: str,
    auth: KafkaAuth | None = None,
) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(*topics, **consumer_settings(bootstrap, group_id, client_id, auth))
