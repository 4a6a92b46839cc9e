"""The chart's optional monitoring objects: scrape targets, SLO alerts and the dashboard.

Rendered by the pinned Helm. The scrape objects are matched against what the operator really
renders into a region (gavel_operator.rendering), so a renamed label or port breaks this test,
not a production dashboard. The hub API server has no Prometheus Operator CRDs, so only the
built-in kinds (the operator's metrics Service, the dashboard ConfigMap) get a server dry run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gavel_devstack import dashboard
from gavel_devstack.harness.stack_env import Stack
from gavel_operator.rendering import RegionView, render_region
from tests.integration.charts.conftest import (
    CHART,
    NAMESPACE,
    assert_schema_refuses,
    run,
    server_dry_run,
    template,
)

ALL_ON = (
    "monitoring.serviceMonitors.enabled=true,monitoring.rules.enabled=true,"
    "monitoring.dashboards.enabled=true"
)
MONITORING_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}


def _by_name(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    return all(
        labels.get(e["key"]) in e["values"]
        for e in selector.get("matchExpressions", [])
        if e["operator"] == "In"
    )


def _region_objects() -> list[dict[str, Any]]:
    eu = RegionView("eu", "gavel-eu", "kafka:9092", "redis://r:6379/0", 2, 2, "cass", "eu", 2)
    return render_region(eu, [eu])


def test_nothing_is_rendered_unless_asked_for(helm: Path) -> None:
    kinds = {o["kind"] for o in template(helm)}
    assert not kinds & (MONITORING_KINDS | {"Service", "ConfigMap"})


def test_everything_on_lints_and_renders_every_object(helm: Path) -> None:
    out = run([helm, "lint", "--strict", CHART, "--set", ALL_ON])
    assert "0 chart(s) failed" in out.stdout
    monitoring = [
        (o["kind"], o["metadata"]["name"])
        for o in template(helm, "--set", ALL_ON)
        if o["kind"] in MONITORING_KINDS | {"Service", "ConfigMap"}
    ]
    assert sorted(monitoring) == [
        ("ConfigMap", "gavel-dashboard-drop-region"),
        ("PodMonitor", "gavel-workloads"),
        ("PrometheusRule", "gavel-slo"),
        ("Service", "gavel-operator-metrics"),
        ("ServiceMonitor", "gavel-operator"),
        ("ServiceMonitor", "gavel-workloads"),
    ]


def test_the_rule_and_the_dashboard_are_the_committed_files(helm: Path) -> None:
    objects = template(helm, "--set", ALL_ON)
    rule = _by_name(objects, "PrometheusRule", "gavel-slo")
    rules_file = CHART / "files" / "prometheus-rules.yaml"
    assert rule["spec"] == yaml.safe_load(rules_file.read_text())
    config_map = _by_name(objects, "ConfigMap", "gavel-dashboard-drop-region")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config_map["data"]["gavel-drop-region.json"]) == dashboard.build()


def test_the_operator_monitor_reaches_its_metrics_port(helm: Path) -> None:
    objects = template(helm, "--set", ALL_ON, "--set", "operator.metricsPort=9191")
    service = _by_name(objects, "Service", "gavel-operator-metrics")
    pod = _by_name(objects, "Deployment", "gavel-operator")["spec"]["template"]
    assert _matches({"matchLabels": service["spec"]["selector"]}, pod["metadata"]["labels"])
    (container,) = pod["spec"]["containers"]
    assert {"name": "metrics", "containerPort": 9191} in container["ports"]
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 9191, "targetPort": "metrics"}]
    monitor = _by_name(objects, "ServiceMonitor", "gavel-operator")
    assert _matches(monitor["spec"]["selector"], service["metadata"]["labels"])
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"

    # Metrics off: no Service to scrape, while the workloads' monitors stay.
    off = template(helm, "--set", ALL_ON, "--set", "operator.metricsPort=0")
    assert [o["metadata"]["name"] for o in off if o["kind"] == "ServiceMonitor"] == [
        "gavel-workloads"
    ]


def test_the_workload_monitors_find_every_regional_metrics_port(helm: Path) -> None:
    objects = template(helm, "--set", ALL_ON)
    service_monitor = _by_name(objects, "ServiceMonitor", "gavel-workloads")["spec"]
    pod_monitor = _by_name(objects, "PodMonitor", "gavel-workloads")["spec"]
    scraped: set[tuple[str, str]] = set()
    for obj in _region_objects():
        labels = obj["metadata"]["labels"]
        if obj["kind"] == "Service" and _matches(service_monitor["selector"], labels):
            ports = {p["name"] for p in obj["spec"]["ports"]}
            for endpoint in service_monitor["endpoints"]:
                assert endpoint["port"] in ports
                scraped.add((labels["app.kubernetes.io/name"], endpoint["port"]))
        if obj["kind"] == "Deployment" and _matches(pod_monitor["selector"], labels):
            pod = obj["spec"]["template"]
            ports = {p["name"] for c in pod["spec"]["containers"] for p in c["ports"]}
            name = pod["metadata"]["labels"]["app.kubernetes.io/name"]
            for endpoint in pod_monitor["podMetricsEndpoints"]:
                dropped = any(
                    r.get("action") == "drop" and r["regex"] == name
                    for r in endpoint["relabelings"]
                )
                if endpoint["port"] in ports and not dropped:
                    scraped.add((name, endpoint["port"]))
    # Every process with a /metrics: gateway, its outbox shipper, fan-out, relay, audit writer.
    assert scraped == {
        ("gateway", "main"),
        ("gateway", "shipper"),
        ("fanout", "main"),
        ("relay", "main"),
        ("audit-writer", "main"),
    }
    for endpoint in [*service_monitor["endpoints"], *pod_monitor["podMetricsEndpoints"]]:
        assert {
            "sourceLabels": ["__meta_kubernetes_pod_label_gavel_dev_region"],
            "targetLabel": "region",
        } in endpoint["relabelings"]


def test_values_reach_the_objects(helm: Path) -> None:
    objects = template(
        helm,
        "--set",
        ALL_ON,
        "--set",
        "monitoring.serviceMonitors.interval=30s,monitoring.serviceMonitors.labels.release=kps",
        "--set",
        "monitoring.rules.labels.release=kps,monitoring.dashboards.namespace=grafana",
    )
    for kind in MONITORING_KINDS:
        for o in (o for o in objects if o["kind"] == kind):
            assert o["metadata"]["labels"]["release"] == "kps"
    monitor = _by_name(objects, "ServiceMonitor", "gavel-operator")
    assert monitor["spec"]["endpoints"][0]["interval"] == "30s"
    config_map = _by_name(objects, "ConfigMap", "gavel-dashboard-drop-region")
    assert config_map["metadata"]["namespace"] == "grafana"


def test_the_built_in_kinds_pass_a_server_dry_run(helm: Path, stack: Stack, tmp_path: Path) -> None:
    objects = [o for o in template(helm, "--set", ALL_ON) if o["kind"] in {"Service", "ConfigMap"}]
    assert len(objects) == 2
    assert {o["metadata"]["namespace"] for o in objects} == {NAMESPACE}
    lines = server_dry_run(stack, objects, tmp_path)
    assert len(lines) == 2, lines
    assert all(line.endswith("(server dry run)") for line in lines), lines


@pytest.mark.parametrize(
    "override",
    [
        "monitoring.serviceMonitors.interval=soon",
        "monitoring.rules.enabld=true",
        "monitoring.dashboards.labels.grafana_dashboard=1",
    ],
)
def test_the_values_schema_refuses_nonsense(helm: Path, override: str) -> None:
    assert_schema_refuses(helm, override)
