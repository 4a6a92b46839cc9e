from __future__ import annotations

from prometheus_client import generate_latest

from gavel_operator.metrics import OperatorMetrics


def test_one_phase_per_drop_and_forgotten_on_delete() -> None:
    m = OperatorMetrics()
    m.set_phase("merch", "d1", "Live")
    page = generate_latest(m.registry).decode()
    assert 'gavel_operator_drop_phase{drop="d1",namespace="merch",phase="Live"} 1.0' in page
    assert 'gavel_operator_drop_phase{drop="d1",namespace="merch",phase="Closed"} 0.0' in page
    m.forget_drop("merch", "d1")
    m.forget_drop("merch", "d1")  # twice is harmless
    assert 'drop="d1"' not in generate_latest(m.registry).decode()
