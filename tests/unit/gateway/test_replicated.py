from __future__ import annotations

import pytest
from redis import exceptions as redis_errors

from gavel.gateway.replicated import not_writable


@pytest.mark.parametrize(
    "error",
    [
        # redis-py strips the code of the replies it has a class for.
        redis_errors.ReadOnlyError("You can't write against a read only replica."),
        redis_errors.BusyLoadingError("Redis is loading the dataset in memory"),
        redis_errors.ResponseError("NOREPLICAS Not enough good replicas to write."),
        redis_errors.ResponseError("MASTERDOWN Link with MASTER is down"),
    ],
)
def test_a_node_that_cannot_write_now_means_try_again(error: redis_errors.RedisError) -> None:
    assert not_writable(error)


@pytest.mark.parametrize(
    "error",
    [
        redis_errors.ResponseError("ERR Error running script: attempt to compare nil"),
        redis_errors.NoScriptError("No matching script."),
        redis_errors.ResponseError("WRONGTYPE Operation against a key holding the wrong kind"),
    ],
)
def test_other_errors_are_not_taken_for_unavailability(error: redis_errors.RedisError) -> None:
    assert not not_writable(error)
