"""The chart's alerts and dashboard query only metrics the code declares, and stay in one place.

Names are read from the registries the metrics modules build (not from their source text), then
expanded to the series Prometheus stores: a counter ``x`` is scraped as ``x_total``, a histogram
as ``x_bucket``, ``x_count`` and ``x_sum``. The alerts' behaviour is tested by promtool on the
same rules file (tests/rules/, run by scripts/check-rules).
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY, CollectorRegistry

from gavel.audit.metrics import WriterMetrics
from gavel.relay.metrics import RelayMetrics
from gavel_devstack import dashboard
from gavel_operator.metrics import OperatorMetrics

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "gavel-operator"
RULES = CHART / "files" / "prometheus-rules.yaml"
RULE_TESTS = ROOT / "tests" / "rules" / "gavel-slo.test.yaml"
METRIC = re.compile(r"\bgavel_[a-z0-9_]+")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "gauge": ("",),
}


def _series(registry: CollectorRegistry) -> Iterator[str]:
    for family in registry.collect():
        if family.name.startswith("gavel_"):
            yield from (family.name + s for s in SUFFIXES.get(family.type, ("",)))


def declared() -> set[str]:
    """Every series name the workloads' and the operator's metrics modules can expose."""
    for module in ("gavel.gateway.metrics", "gavel.fanout.metrics"):
        importlib.import_module(module)  # registers on the process-wide registry
    registries = [REGISTRY, RelayMetrics().registry, WriterMetrics().registry]
    registries.append(OperatorMetrics().registry)
    return {name for r in registries for name in _series(r)}


def _alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _panel_queries() -> list[str]:
    return [t["expr"] for p in dashboard.build()["panels"] for t in p["targets"]]


def test_the_declared_names_carry_the_exposition_suffixes() -> None:
    names = declared()
    assert {"gavel_gateway_bid_seconds_bucket", "gavel_relay_dead_letters_total"} <= names
    assert {"gavel_fanout_lag_ms", "gavel_operator_region_reachable"} <= names
    assert "gavel_gateway_bid_seconds" not in names  # a histogram has no bare series


@pytest.mark.parametrize(
    ("what", "queries"),
    [
        ("alert", [rule["expr"] for rule in _alerts()]),
        ("dashboard panel", _panel_queries()),
    ],
)
def test_every_metric_queried_is_declared_in_the_code(what: str, queries: list[str]) -> None:
    names = declared()
    for query in queries:
        used = set(METRIC.findall(query))
        assert used, f"{what} queries no Gavel metric: {query}"
        assert used <= names, f"{what} uses undeclared {sorted(used - names)}: {query}"


def test_every_alert_says_how_long_how_bad_what_and_where_to_look() -> None:
    alerts = _alerts()
    names = [a["alert"] for a in alerts]
    assert len(names) == len(set(names)), "alert names repeat"
    for alert in alerts:
        assert re.fullmatch(r"[0-9]+[smh]", alert["for"]), alert["alert"]
        assert alert["labels"]["severity"] in {"warning", "critical"}, alert["alert"]
        assert {"summary", "description", "runbook"} <= alert["annotations"].keys()
        assert alert["annotations"]["runbook"].startswith("docs/operator.md#")


def test_every_alert_has_a_promtool_test_that_fires_it() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text())
    # promtool resolves rule_files from the test file's folder: the chart's file, not a copy.
    assert tests["rule_files"] == ["../../charts/gavel-operator/files/prometheus-rules.yaml"]
    fired = {
        check["alertname"]
        for case in tests["tests"]
        for check in case["alert_rule_test"]
        if check["exp_alerts"]
    }
    assert fired == {a["alert"] for a in _alerts()}


def test_the_prometheus_rule_template_includes_the_one_rules_file() -> None:
    template = (CHART / "templates" / "monitoring-rules.yaml").read_text()
    assert '.Files.Get "files/prometheus-rules.yaml"' in template


def test_the_committed_dashboard_is_what_the_builder_writes() -> None:
    on_disk = (ROOT / dashboard.OUTPUT).read_text()
    assert on_disk == dashboard.render(), "stale: run python -m gavel_devstack.dashboard"
    ids = [p["id"] for p in json.loads(on_disk)["panels"]]
    assert len(ids) == len(set(ids))


def test_the_dashboard_filters_by_region_and_drop() -> None:
    variables = {v["name"] for v in dashboard.build()["templating"]["list"]}
    assert {"region", "drop"} <= variables
    queries = _panel_queries()
    assert all('region=~"$region"' in q or 'drop=~"$drop"' in q for q in queries)
