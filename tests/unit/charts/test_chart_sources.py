"""The Helm chart's generated files match their Python sources, and its defaults match the
operator's.

``templates/rbac.yaml`` comes from ``gavel operator rbac`` (gavel_operator.rbac) and ``crds/``
from ``gavel operator crds`` (gavel_operator.crds); Helm cannot read files outside the chart, so
both are committed copies that must never drift.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from gavel.cli import app
from gavel_operator import crds, rbac
from gavel_operator.rendering import Images
from gavel_operator.settings import RESYNC_S, TICK_S, OperatorSettings

CHART = Path(__file__).resolve().parents[3] / "charts" / "gavel-operator"
RBAC = CHART / "templates" / "rbac.yaml"
REGENERATE_CRDS = "gavel operator crds --write crds/ --write charts/gavel-operator/crds/"
REGENERATE_RBAC = "gavel operator rbac --write charts/gavel-operator/templates/rbac.yaml"


def _rbac_documents() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(RBAC.read_text()) if doc]


def _rules() -> list[dict[str, Any]]:
    return [rule for doc in _rbac_documents() for rule in doc.get("rules", [])]


def test_the_charts_crds_match_the_schema_source() -> None:
    folder = CHART / "crds"
    for name, crd in crds.all_crds().items():
        on_disk = yaml.safe_load((folder / name).read_text())
        assert on_disk == crd, f"charts/gavel-operator/crds/{name} is stale: run {REGENERATE_CRDS}"
    assert sorted(p.name for p in folder.glob("*.yaml")) == sorted(crds.all_crds())


def test_the_charts_rbac_is_exactly_what_the_generator_writes(tmp_path: Path) -> None:
    out = tmp_path / "rbac.yaml"
    result = CliRunner().invoke(app, ["operator", "rbac", "--write", str(out)])
    assert result.exit_code == 0, result.output
    assert RBAC.read_text() == out.read_text(), f"{RBAC} is stale: run {REGENERATE_RBAC}"


def test_the_rbac_is_the_hub_identity_in_the_release_namespace() -> None:
    docs = _rbac_documents()
    assert [d["kind"] for d in docs] == [o["kind"] for o in rbac.hub("ns")]
    for doc in docs:
        if doc["kind"] in {"ServiceAccount", "Role", "RoleBinding"}:
            assert doc["metadata"]["namespace"] == "{{ .Release.Namespace }}"
        for subject in doc.get("subjects", []):
            assert subject == {
                "kind": "ServiceAccount",
                "name": "gavel-operator",
                "namespace": "{{ .Release.Namespace }}",
            }


def test_the_rbac_has_no_wildcards() -> None:
    for rule in _rules():
        for field in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
            assert not any("*" in value for value in rule.get(field, [])), rule


def test_secrets_are_only_ever_read_one_by_one() -> None:
    secret_rules = [r for r in _rules() if "secrets" in r["resources"]]
    assert secret_rules, "the operator needs to get the Regions' kubeconfig Secrets"
    for rule in secret_rules:
        assert rule["verbs"] == ["get"], rule
    # Only a namespaced Role may touch Secrets, never the ClusterRole.
    cluster_role = next(d for d in _rbac_documents() if d["kind"] == "ClusterRole")
    assert all("secrets" not in r["resources"] for r in cluster_role["rules"])


def test_the_default_values_are_the_operators_defaults() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    images = Images()
    # An empty workloadImages.gavel means the operator's own image, which defaults to appVersion.
    assert values["workloadImages"]["gavel"] == ""
    assert values["image"]["tag"] == ""
    assert f"{values['image']['repository']}:{chart['appVersion']}" == images.gavel
    assert values["workloadImages"]["redis"] == images.redis
    assert values["workloadImages"]["kafka"] == images.kafka
    assert values["operator"]["tickSeconds"] == TICK_S
    assert values["operator"]["resyncSeconds"] == RESYNC_S
    assert chart["version"] == chart["appVersion"] == "0.1.0"


class _Recording(dict[str, str]):
    """An empty environment that remembers which variables were asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return default


def test_the_deployment_sets_every_setting_the_operator_reads() -> None:
    env = _Recording()
    OperatorSettings.from_env(env)
    assert env.asked, "OperatorSettings.from_env reads no variables?"
    template = (CHART / "templates" / "deployment.yaml").read_text()
    for name in sorted(env.asked):
        assert f"- name: {name}\n" in template, f"the chart does not set {name}"
