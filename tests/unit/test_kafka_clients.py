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


def test_consumers_wait_long_but_answer_at_the_first_byte() -> None:
    # The wait bounds idle polls only: a fetch returns as soon as one record arrives.
    s = kafka_clients.consumer_settings("k:9092", None, "fanout-us")
    assert s["fetch_min_bytes"] == 1
    assert s["fetch_max_wait_ms"] == 500
