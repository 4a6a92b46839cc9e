from __future__ import annotations

from gavel import kafka_acls, topics
from gavel.kafka_acls import CREATE, GROUP, READ, TOPIC, WRITE


def _rights(acls: list[kafka_acls.AclBinding], user: str) -> set[tuple[int, str, int]]:
    return {(a.resource_type, a.resource_name, a.operation) for a in acls if a.principal == user}


ACLS = kafka_acls.region_acls("us", ["us", "eu", "ap"], "gavel-audit-writer")


def test_only_the_relay_writes_prices_and_the_audit() -> None:
    writers = {
        (a.principal, a.resource_name)
        for a in ACLS
        if a.resource_type == TOPIC
        and a.operation == WRITE
        and a.resource_name in {topics.PRICE, topics.AUDIT}
    }
    assert writers == {("User:gavel-relay", topics.PRICE), ("User:gavel-relay", topics.AUDIT)}


def test_a_fanout_reads_its_prices_and_the_copies_and_nothing_else() -> None:
    reads = {name for kind, name, op in _rights(ACLS, "User:gavel-fanout") if op == READ}
    assert reads == {topics.PRICE, "eu.gavel.price", "ap.gavel.price"}
    assert not [r for r in _rights(ACLS, "User:gavel-fanout") if r[0] == GROUP]


def test_mirrormaker_creates_only_copies_and_its_own_topics_in_the_target() -> None:
    created = {name for kind, name, op in _rights(ACLS, "User:gavel-mirror") if op == CREATE}
    assert "us.gavel.price" not in created  # never a copy of the region's own prices
    assert created == {
        "eu.gavel.price",
        "ap.gavel.price",
        *kafka_acls.mirror_internal_topics("eu"),
        *kafka_acls.mirror_internal_topics("ap"),
    }


def test_the_audit_writer_joins_groups_under_its_prefix_only() -> None:
    groups = [a for a in ACLS if a.resource_type == GROUP and "audit" in a.principal]
    assert [(g.resource_name, g.pattern_type) for g in groups] == [
        ("gavel-audit-writer", kafka_acls.PREFIXED)
    ]
