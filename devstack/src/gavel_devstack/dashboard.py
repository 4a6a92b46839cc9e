"""The Grafana dashboard the gavel-operator chart ships: one drop and one region. Pure builder.

``python -m gavel_devstack.dashboard`` writes :data:`OUTPUT`, which the chart puts into a
ConfigMap labelled for Grafana's dashboard sidecar; tests/unit/charts/test_monitoring.py checks
the committed file is what :func:`build` returns and that every metric it queries is declared
in the code. Built here rather than written by hand so panels share one layout and one set of
template variables; no Grafana SDK is needed for a document this size.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

Obj = dict[str, Any]

OUTPUT = Path("charts/gavel-operator/files/dashboard-drop-region.json")
UID = "gavel-drop-region"
WIDTH, HEIGHT = 8, 8
"""Grafana's grid is 24 columns wide: three panels a row."""

REGION = 'region=~"$region"'


def _panel(n: int, title: str, unit: str, *queries: tuple[str, str]) -> Obj:
    return {
        "id": n + 1,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"x": (n % 3) * WIDTH, "y": (n // 3) * HEIGHT, "w": WIDTH, "h": HEIGHT},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(queries)
        ],
    }


PANELS: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "Drop phase",
        "none",
        [('max by (phase) (gavel_operator_drop_phase{drop=~"$drop"}) > 0', "{{phase}}")],
    ),
    (
        "Bids per second by outcome",
        "reqps",
        [(f"sum by (outcome) (rate(gavel_gateway_bids_total{{{REGION}}}[1m]))", "{{outcome}}")],
    ),
    (
        "Refusals by reason",
        "reqps",
        [
            (
                "sum by (reason) "
                f'(rate(gavel_gateway_bids_total{{{REGION},outcome!="accepted"}}[1m]))',
                "{{reason}}",
            ),
            (f"sum by (code) (rate(gavel_gateway_refused_total{{{REGION}}}[1m]))", "{{code}}"),
        ],
    ),
    (
        "Bid ack p50 / p99 (SLO 10 ms)",
        "s",
        [
            (
                f"histogram_quantile({q}, sum by (le) "
                f"(rate(gavel_gateway_bid_seconds_bucket{{{REGION}}}[1m])))",
                f"p{round(q * 100)}",
            )
            for q in (0.5, 0.99)
        ],
    ),
    (
        "Decision -> observer lag (SLO 200 ms)",
        "ms",
        [(f"max by (region) (gavel_fanout_lag_ms{{{REGION}}})", "{{region}}")],
    ),
    (
        "Observers",
        "short",
        [(f"sum by (region) (gavel_fanout_connections{{{REGION}}})", "{{region}}")],
    ),
    (
        "Relay backlog",
        "short",
        [
            (f"sum by (region) (gavel_relay_backlog_entries{{{REGION}}})", "entries {{region}}"),
            (f"sum by (region) (gavel_relay_outbox_segments{{{REGION}}})", "segments {{region}}"),
        ],
    ),
    (
        "Relay wait for Kafka",
        "s",
        [(f"max by (region) (gavel_relay_kafka_wait_seconds{{{REGION}}})", "{{region}}")],
    ),
    (
        "Audit writer lag and dead letters",
        "short",
        [
            (f"sum by (region) (gavel_audit_lag_records{{{REGION}}})", "lag {{region}}"),
            (
                f"sum by (region) (increase(gavel_audit_dead_letters_total{{{REGION}}}[5m]))"
                f" + sum by (region) (increase(gavel_relay_dead_letters_total{{{REGION}}}[5m]))",
                "dead letters/5m {{region}}",
            ),
        ],
    ),
    (
        "Region reachable from the operator",
        "none",
        [(f"gavel_operator_region_reachable{{{REGION}}}", "{{region}}")],
    ),
    (
        "Replica floors",
        "short",
        [(f"gavel_operator_region_min_replicas{{{REGION}}}", "{{component}} {{region}}")],
    ),
    (
        "Rollouts and applies failing",
        "short",
        [
            (
                "sum by (region) (increase("
                f'gavel_operator_drop_rollouts_total{{{REGION},result="failed"}}[5m]))',
                "rollouts {{region}}",
            ),
            (
                "sum by (region) (increase("
                f'gavel_operator_region_applies_total{{{REGION},result!="applied"}}[5m]))',
                "applies {{region}}",
            ),
        ],
    ),
]


def _variable(name: str, query: str) -> Obj:
    return {
        "name": name,
        "type": "query",
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "query": {"query": query, "refId": name},
        "definition": query,
        "includeAll": True,
        "multi": False,
        "refresh": 2,
        "current": {},
    }


def build() -> Obj:
    """The dashboard document, as Grafana imports it."""
    return {
        "uid": UID,
        "title": "Gavel: drop and region",
        "tags": ["gavel"],
        "schemaVersion": 39,
        "editable": False,
        "time": {"from": "now-30m", "to": "now"},
        "refresh": "10s",
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                _variable("region", "label_values(gavel_operator_region_reachable, region)"),
                _variable("drop", "label_values(gavel_operator_drop_phase, drop)"),
            ]
        },
        "panels": [_panel(n, t, u, *q) for n, (t, u, q) in enumerate(PANELS)],
    }


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    OUTPUT.write_text(render())
    sys.stdout.write(f"wrote {OUTPUT}\n")


if __name__ == "__main__":
    main()
