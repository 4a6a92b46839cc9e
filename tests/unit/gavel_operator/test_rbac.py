from __future__ import annotations

from gavel_operator import rbac
from gavel_operator.kube import KINDS
from gavel_operator.rendering import drop_record, render_region
from tests.unit.gavel_operator.test_rendering import example_regions
from tests.unit.resources.samples import drop_spec


def _granted(rules: list[dict[str, object]]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for r in rules
        for group in r["apiGroups"]  # type: ignore[attr-defined]
        for resource in r["resources"]  # type: ignore[attr-defined]
        for verb in r["verbs"]  # type: ignore[attr-defined]
    }


def test_the_regional_role_covers_exactly_what_the_operator_applies() -> None:
    regions = example_regions()
    objects = [*render_region(regions[0], regions), drop_record("d", "ns", drop_spec(), regions[0])]
    needed = set()
    for obj in objects:
        group = obj["apiVersion"].rpartition("/")[0]
        plural = KINDS[(obj["apiVersion"], obj["kind"])].plural
        needed |= {(group, plural, verb) for verb in rbac.APPLY}
    needed |= {("apps", "deployments/scale", "get"), ("apps", "deployments/scale", "patch")}
    needed.add(("", "configmaps", "delete"))  # drop records go on delete
    needed |= {("apps", "deployments", "list"), ("apps", "statefulsets", "list")}  # readiness
    needed.add(("", "pods", "list"))  # why pods fail: the PodsHealthy condition
    assert _granted(rbac.regional_rules()) == needed


def test_no_wildcards_and_secrets_are_only_read_one_by_one() -> None:
    every = [*rbac.hub_rules(), *rbac.secret_rules(), *rbac.regional_rules()]
    for group, resource, verb in _granted(every):
        assert "*" not in (group, resource, verb)
    assert {v for g, r, v in _granted(every) if r == "secrets"} == {"get"}
    assert all(r != "secrets" for _, r, _ in _granted(rbac.hub_rules()))


def test_the_hub_binds_its_service_account() -> None:
    objs = rbac.hub("gavel-system")
    kinds = [o["kind"] for o in objs]
    assert kinds == ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]
    role = next(o for o in objs if o["kind"] == "Role")
    assert role["metadata"]["namespace"] == "gavel-system"
