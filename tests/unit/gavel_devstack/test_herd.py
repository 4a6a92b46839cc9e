"""The dev stack's herd: the supervisor's signals and restarts become the report's marks."""

from __future__ import annotations

from gavel.herd.series import MarkKind
from gavel_devstack.harness.workloads import Event
from gavel_devstack.herd import event_marks


def test_faults_and_recoveries_on_the_herds_clock_without_the_exits() -> None:
    started_ms = 1_000_000.0
    events = [
        Event(1_008.0, "relay/us", "SIGKILL"),
        Event(1_008.1, "relay/us", "exited -9"),
        Event(1_008.6, "relay/us", "restarted"),
        Event(1_010.0, "gateway/eu", "SIGSTOP"),
        Event(1_012.0, "gateway/eu", "SIGCONT"),
    ]
    marks = event_marks(events, started_ms)
    assert [(round(m.t_s, 1), m.label, m.kind) for m in marks] == [
        (8.0, "relay/us killed", MarkKind.FAULT),
        (8.6, "relay/us restarted", MarkKind.RECOVERY),
        (10.0, "gateway/eu frozen", MarkKind.FAULT),
        (12.0, "gateway/eu resumed", MarkKind.RECOVERY),
    ]
