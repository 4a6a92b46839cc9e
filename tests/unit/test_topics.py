from __future__ import annotations

from gavel import topics


def test_mirrored_copy_is_prefixed_with_the_source_region() -> None:
    assert topics.mirrored(topics.PRICE, "us") == "us.gavel.price"


def test_fanout_consumes_its_own_price_topic_and_every_other_regions_copy() -> None:
    assert topics.price_topics("eu", ["us", "eu", "in"]) == [
        "gavel.price",
        "us.gavel.price",
        "in.gavel.price",
    ]


def test_local_topics_are_unique_and_include_price_audit_and_dead_letters() -> None:
    names = [t.name for t in topics.LOCAL_TOPICS]
    assert len(names) == len(set(names))
    assert {topics.PRICE, topics.AUDIT, topics.AUDIT_DEAD_LETTER} <= set(names)
