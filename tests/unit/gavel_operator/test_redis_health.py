"""What the Region says about its Redis: in-sync replicas counted as the primary counts them."""

from __future__ import annotations

import pytest

from gavel.redis_replication import MIN_REPLICAS_MAX_LAG_S
from gavel_operator.redis_health import (
    CONDITION,
    ReplicaLink,
    Replication,
    assess,
    majority,
    replicas_from_info,
)

INFO = {
    "role": "master",
    "connected_slaves": 2,
    "slave0": {"ip": "10.0.0.5", "port": 6379, "state": "online", "offset": 900, "lag": 0},
    "slave1": {"ip": "10.0.0.6", "port": 6379, "state": "wait_bgsave", "offset": 0, "lag": 0},
    "master_repl_offset": 900,
}


def _link(lag: int, state: str = "online") -> ReplicaLink:
    return ReplicaLink("10.0.0.5:6379", state, lag)


def test_replicas_are_read_from_info_replication() -> None:
    assert replicas_from_info(INFO) == (
        ReplicaLink("10.0.0.5:6379", "online", 0),
        ReplicaLink("10.0.0.6:6379", "wait_bgsave", 0),
    )
    assert replicas_from_info({"role": "master", "connected_slaves": 0}) == ()


def test_in_sync_means_online_and_acknowledged_within_the_primary_s_max_lag() -> None:
    assert _link(MIN_REPLICAS_MAX_LAG_S).in_sync
    assert not _link(MIN_REPLICAS_MAX_LAG_S + 1).in_sync
    assert not _link(0, "send_bulk").in_sync


@pytest.mark.parametrize(
    ("answers", "named"),
    [
        (["a:1", "a:1", "b:2"], "a:1"),
        (["a:1", None, None], None),  # one Sentinel of three is no majority
        (["a:1", "b:2", None], None),
        ([None, None, None], None),
        (["a:1", "a:1", None], "a:1"),
    ],
)
def test_the_primary_is_the_one_a_majority_of_listed_sentinels_name(
    answers: list[str | None], named: str | None
) -> None:
    assert majority(answers) == named


def test_enough_replicas_in_sync_is_replicated() -> None:
    r = Replication("10.0.0.4:6379", (3, 3), "master", (_link(0), _link(1)))
    status, condition = assess(r, 2)
    assert status == {
        "primary": "10.0.0.4:6379",
        "sentinels": "3/3",
        "replicasWanted": 2,
        "replicasConnected": 2,
        "replicasInSync": 2,
    }
    assert (condition.type, condition.status, condition.reason) == (CONDITION, True, "InSync")


def test_fewer_in_sync_than_wanted_is_not_replicated_and_names_the_laggard() -> None:
    r = Replication("10.0.0.4:6379", (3, 3), "master", (_link(0), _link(7)))
    status, condition = assess(r, 2)
    assert status["replicasInSync"] == 1
    assert (condition.status, condition.reason) == (False, "ReplicasBehind")
    assert "1 of 2" in condition.message
    assert "lag 7s" in condition.message


def test_a_missing_replica_is_not_replicated() -> None:
    status, condition = assess(Replication("p:1", (3, 3), "master", (_link(0),)), 2)
    assert (status["replicasConnected"], condition.status) == (1, False)


def test_no_majority_of_sentinels_means_no_primary() -> None:
    status, condition = assess(Replication(None, (1, 3)), 2)
    assert status == {
        "sentinels": "1/3",
        "replicasWanted": 2,
        "replicasConnected": 0,
        "replicasInSync": 0,
    }
    assert (condition.status, condition.reason) == (False, "NoPrimary")
    assert "1 of 3" in condition.message


def test_a_named_primary_that_is_a_replica_is_reported() -> None:
    _, condition = assess(Replication("p:1", (2, 3), "slave"), 2)
    assert (condition.status, condition.reason) == (False, "NotPrimary")


def test_an_unreachable_primary_is_reported_with_the_error() -> None:
    _, condition = assess(Replication("p:1", None, error="p:1: Connection refused"), 0)
    assert (condition.status, condition.reason) == (False, "Unreachable")
    assert "refused" in condition.message


def test_a_single_server_wanting_no_replica_is_fine() -> None:
    status, condition = assess(Replication("r:6379", None, "master"), 0)
    assert "sentinels" not in status
    assert condition.status
