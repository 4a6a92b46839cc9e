from __future__ import annotations

from gavel.gateway.replica_target import HOLD_S, ReplicaTarget, ReplicaTargets


def test_before_any_count_the_floor_is_waited_for() -> None:
    assert ReplicaTarget(floor=1).needed(0.0) == 1


def test_every_connected_replica_is_waited_for_and_at_least_the_floor() -> None:
    target = ReplicaTarget(floor=1)
    target.observe(2, now=0.0)
    assert target.needed(0.0) == 2
    target = ReplicaTarget(floor=2)
    target.observe(1, now=0.0)
    assert target.needed(0.0) == 2


def test_a_replica_that_connects_is_waited_for_at_once() -> None:
    target = ReplicaTarget(floor=1)
    target.observe(1, now=0.0)
    target.observe(2, now=0.5)
    assert target.needed(0.5) == 2


def test_a_replica_that_leaves_is_waited_for_until_the_hold_ends() -> None:
    # The promoted replica leaves the old primary at once; the other one follows it for about a
    # second more. Acknowledging on that one alone is what lost bids (decision 39).
    target = ReplicaTarget(floor=1, hold_s=5.0)
    target.observe(2, now=10.0)
    target.observe(1, now=10.8)
    assert target.needed(10.8) == 2
    target.observe(1, now=14.9)
    assert target.needed(14.9) == 2
    target.observe(1, now=15.1)
    assert target.needed(15.1) == 1


def test_the_hold_runs_from_the_last_time_the_higher_count_was_seen() -> None:
    target = ReplicaTarget(floor=1, hold_s=5.0)
    target.observe(3, now=0.0)
    target.observe(2, now=1.0)
    target.observe(3, now=2.0)
    target.observe(1, now=3.0)
    assert target.needed(6.9) == 3
    assert target.needed(7.1) == 1


def test_a_partial_drop_holds_each_level_for_its_own_hold() -> None:
    target = ReplicaTarget(floor=1, hold_s=5.0)
    target.observe(3, now=0.0)
    target.observe(2, now=4.0)
    target.observe(1, now=6.0)
    assert target.needed(6.0) == 2  # 3 expired at 5.0, 2 was seen at 4.0
    assert target.needed(9.1) == 1


def test_the_newest_count_always_counts_even_long_after() -> None:
    target = ReplicaTarget(floor=0, hold_s=5.0)
    target.observe(2, now=0.0)
    assert target.needed(100.0) == 2


def test_the_default_hold_is_sentinels_failover_timeout() -> None:
    assert HOLD_S == 5.0


def test_each_primary_keeps_its_own_history() -> None:
    # A crash: the old primary had two replicas; the new one has the survivor. Holding the new
    # primary to the old count would refuse every bid for the whole hold after a failover.
    targets = ReplicaTargets(floor=1, hold_s=5.0)
    targets.observe("old", 2, now=0.0)
    targets.observe("new", 1, now=2.5)
    assert targets.needed("new", 2.5) == 1
    assert targets.last_node == "new"
    # The healed partition: the old primary, reached again, is still held to two.
    targets.observe("old", 1, now=3.0)
    assert targets.needed("old", 3.0) == 2
    assert targets.needed("never-seen", 3.0) == 1


def test_a_node_not_seen_for_the_hold_is_forgotten() -> None:
    targets = ReplicaTargets(floor=1, hold_s=5.0)
    targets.observe("old", 2, now=0.0)
    targets.observe("new", 1, now=5.5)
    assert targets.needed("old", 5.5) == 1


def test_a_connection_whose_node_is_unknown_waits_for_the_most_any_recent_node_needs() -> None:
    targets = ReplicaTargets(floor=1, hold_s=5.0)
    assert targets.ceiling(0.0) == 1
    targets.observe("old", 2, now=0.0)
    targets.observe("new", 1, now=1.0)
    assert targets.ceiling(1.0) == 2
    assert targets.ceiling(7.0) == 1  # both forgotten or past their hold


def test_the_latest_count_of_a_node_is_kept_apart_from_what_it_needs() -> None:
    targets = ReplicaTargets(floor=1, hold_s=5.0)
    targets.observe("old", 2, now=0.0)
    targets.observe("old", 1, now=1.0)
    assert (targets.latest("old"), targets.needed("old", 1.0)) == (1, 2)
    assert targets.latest("never-seen") == 0
