"""The herd soak's rows: read from each run's JSON, failures named by kind."""

from __future__ import annotations

from typing import Any

from gavel_devstack.herd_soak import row_of, soak_table


def run_json(seed: int, violations: list[dict[str, Any]]) -> dict[str, Any]:
    def lat(p99: float) -> dict[str, float]:
        return {"count": 10, "p50_ms": 1.0, "p99_ms": p99, "max_ms": p99 + 1}

    return {
        "seed": seed,
        "chaos": "8.0s kill relay/us; 9.5s stop fanout/eu for 2s",
        "verdict": {
            "ok": not violations,
            "accepted": 1234,
            "audit_rows": 2345,
            "ack_ms": lat(12.5),
            "decision_to_observer_ms": {"us": lat(40.0), "eu": lat(180.25)},
            "violations": violations,
        },
    }


def test_a_passing_run_shows_its_seed_faults_and_the_worst_region() -> None:
    row = row_of(3, run_json(42, []))
    assert row[:3] == ("3", "42", "8.0s kill relay/us\n9.5s stop fanout/eu for 2s")
    assert "pass" in row[3]
    assert row[4:] == ("1,234", "2,345", "12.5", "180.2 eu")


def test_a_failing_run_names_each_violation_kind_and_the_title_counts_it() -> None:
    bad = [{"kind": "lost_ack", "count": 2, "records": []}, {"kind": "gap", "count": 1}]
    rows = [row_of(1, run_json(7, [])), row_of(2, run_json(8, bad))]
    assert rows[1][3] == "[red]FAIL[/] lost_ack x2, gap x1"
    table = soak_table(rows, 7)
    assert table.title == "herd soak: 1 of 2 runs passed"
    assert "seeds 7..8" in str(table.caption)
