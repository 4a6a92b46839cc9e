from __future__ import annotations

from gavel import kafka_clients


def test_producers_are_idempotent_with_acks_all() -> None:
    s = kafka_clients.producer_settings("k:9092", "relay-us")
    assert s["enable_idempotence"] is True
    assert s["acks"] == "all"


def test_consumers_commit_by_hand() -> None:
    s = kafka_clients.consumer_settings("k:9092", "audit-writer", "aw-1")
    assert s["enable_auto_commit"] is False
    assert s["auto_offset_reset"] == "earliest"
