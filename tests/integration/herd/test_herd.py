"""A short herd on the local stack passes the checker while its relay and an audit writer are
killed and the home region's Kafka broker stalls: every answered attempt in the audit trail read
back from Cassandra, the accepted history gap-free and rising, every observer (some cut and
resumed with ``since``) on the final price."""

from __future__ import annotations

from pathlib import Path

from gavel.herd import chaos, shape
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.herd import herd_on_stack


def test_a_short_herd_with_kills_and_a_stalled_broker_passes_the_checker(
    stack: Stack, tmp_path: Path
) -> None:
    regions = tuple(stack.regions)
    sizes = shape.Sizes(bidders=12, observers=80, regions=regions, duration_s=12)
    # The drop opens at 3 s and bids flow until 15 s: every fault lands while bids are decided.
    faults = chaos.parse(
        f"6s kill relay/{regions[0]}; 8s kill audit-writer/{regions[-1]}; "
        f"10s stop kafka/{regions[0]} for 3s",
        regions,
    )
    done = herd_on_stack(sizes, shape.PROFILES["smoke"], seed=16, log_dir=tmp_path, faults=faults)
    v, counts = done.result.verdict, done.result.counts
    assert v.ok, v.as_json()["violations"]
    assert v.accepted > 10
    # Each kind of attempt was made and checked: accepted, refused, retried, rate-limited.
    assert counts["answers_accepted"] >= v.accepted
    assert counts["answers_below_minimum"] > 0
    assert any(k.endswith("_duplicate") for k in counts)
    assert counts.get("answers_rate_limited", 0) > 0
    assert v.attempts_answered == v.audit_rows
    assert counts["observers_connected"] == 80
    assert counts["observer_connects"] > 80  # the cut ones came back with since
    assert set(v.observer_latency) == set(regions)
    assert all(s.count > 0 for s in v.observer_latency.values())
    # The faults happened, and the killed workloads were restarted, with their times.
    happened = [(e.workload, e.what) for e in done.sup.events]
    for target in (f"relay/{regions[0]}", f"audit-writer/{regions[-1]}"):
        assert (target, "SIGKILL") in happened
        assert (target, "restarted") in happened
    broker = f"kafka/{regions[0]}"
    assert happened.index((broker, "SIGSTOP")) < happened.index((broker, "SIGCONT"))


def test_open_loop_bidders_in_two_client_processes_pass_the_checker(
    stack: Stack, tmp_path: Path
) -> None:
    regions = tuple(stack.regions)
    sizes = shape.Sizes(bidders=12, observers=80, regions=regions, duration_s=10, bid_rate=36)
    done = herd_on_stack(
        sizes, shape.PROFILES["smoke"], seed=17, log_dir=tmp_path, client_processes=2
    )
    result = done.result
    v, counts = result.verdict, result.counts
    assert v.ok, v.as_json()["violations"]
    # Both processes ran clients, and their records were merged before the checker ran.
    assert [(p["observers"], p["bidders"]) for p in result.processes] == [(40, 6), (40, 6)]
    assert counts["observers_connected"] == 80
    assert v.attempts_answered == v.audit_rows
    assert set(v.observer_latency) == set(regions)
    # Bids flew on their schedule, not after answers: 36/s for 6 s, then 108/s in the 4 s
    # soft window is about 650 due, where the smoke profile's closed loop (1/s each, 3/s in
    # the window, each after its answer) sends at most 12 * (6 + 12) = 216.
    assert counts["bids_sent"] > 2 * 216
    assert counts["answers_accepted"] >= v.accepted > 5
