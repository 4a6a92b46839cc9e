from __future__ import annotations

import pytest

from gavel.gateway.replicated import unavailable


@pytest.mark.parametrize(
    "message",
    [
        "READONLY You can't write against a read only replica.",
        "LOADING Redis is loading the dataset in memory",
        "NOREPLICAS Not enough good replicas to write.",
        "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
    ],
)
def test_a_node_that_cannot_write_now_means_try_again(message: str) -> None:
    assert unavailable(message)


@pytest.mark.parametrize(
    "message",
    [
        "ERR Error running script: attempt to compare nil with number",
        "NOSCRIPT No matching script.",
        "WRONGTYPE Operation against a key holding the wrong kind of value",
    ],
)
def test_other_errors_are_not_taken_for_unavailability(message: str) -> None:
    assert not unavailable(message)
