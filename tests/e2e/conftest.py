"""The operator's e2e world: a hub and five regional clusters of their own, with the operator
running under its shipped RBAC (:mod:`tests.support.clusters`).

One world for the whole session, shared by tests/e2e/test_operator_*.py: starting it takes
minutes. It is handed out converged (every Region Ready and Available), and a test that
changes it (stops an API server, deletes a Region, changes a baseline) puts it back before it
ends, so the tests do not depend on their order.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gavel import endpoints
from gavel.redis_acl import Role
from gavel_devstack.harness.waiting import poll
from tests.support.clusters import (
    Clusters,
    Operator,
    example_regions,
    run_stack,
    set_up,
    start_clusters,
)
from tests.support.operator_checks import every_region_ready_and_available


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Clusters, Operator]]:
    work = tmp_path_factory.mktemp("operator-e2e")
    clusters = start_clusters(work / "stack")
    login = clusters.env.get(endpoints.redis_auth_var(Role.OPERATOR), "")
    operator = Operator(set_up(clusters, work), work / "operator.log", redis_login=login)
    clusters.apply("hub", example_regions(clusters))
    operator.start()
    try:
        poll(
            lambda: every_region_ready_and_available(clusters),
            timeout_s=90,
            what=f"five Ready and Available regions; operator log:\n{operator.log_tail()}",
        )
        yield clusters, operator
    finally:
        operator.stop()
        run_stack(work / "stack", "down", "--purge")
