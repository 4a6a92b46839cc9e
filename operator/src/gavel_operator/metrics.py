"""Prometheus metrics of the operator, in a registry of its own.

Created with the :class:`gavel_operator.runtime.Runtime`, updated by the reconcilers and the
handlers, served by ``gavel operator run --metrics-port`` on ``/metrics``. What an on-call for
the control plane looks at first: which regions answer, the floors they run at, how often
applies and rollouts fail, and how long a reconcile takes.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from gavel.resources.phase import Phase


@dataclass(slots=True)
class OperatorMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    region_reachable: Gauge = field(init=False)
    region_floor: Gauge = field(init=False)
    applies: Counter = field(init=False)
    rollouts: Counter = field(init=False)
    drop_phase: Gauge = field(init=False)
    reconcile_seconds: Histogram = field(init=False)

    def __post_init__(self) -> None:
        r = self.registry
        self.region_reachable = Gauge(
            "gavel_operator_region_reachable",
            "1 when the region's API server answered the last attempt.",
            ["region"],
            registry=r,
        )
        self.region_floor = Gauge(
            "gavel_operator_region_min_replicas",
            "Replica floor applied (the HPA's minReplicas).",
            ["region", "component"],
            registry=r,
        )
        self.applies = Counter(
            "gavel_operator_region_applies",
            "Region applies by result (applied, or the failure reason).",
            ["region", "result"],
            registry=r,
        )
        self.rollouts = Counter(
            "gavel_operator_drop_rollouts",
            "Drop rollouts (record + rules) to a region, by result (ok, failed).",
            ["region", "result"],
            registry=r,
        )
        self.drop_phase = Gauge(
            "gavel_operator_drop_phase",
            "1 for the phase each Drop is in.",
            ["namespace", "drop", "phase"],
            registry=r,
        )
        self.reconcile_seconds = Histogram(
            "gavel_operator_reconcile_seconds",
            "Duration of one Region or Drop reconcile.",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15),
            registry=r,
        )

    def set_phase(self, namespace: str, drop: str, phase: str) -> None:
        for p in Phase:
            self.drop_phase.labels(namespace, drop, p).set(1 if p == phase else 0)

    def forget_drop(self, namespace: str, drop: str) -> None:
        for p in Phase:
            with contextlib.suppress(KeyError):  # never set, or forgotten already
                self.drop_phase.remove(namespace, drop, p)
