"""``gavel drops schedule`` against the real hub API server: a Drop is applied (created, then
unchanged, then updated), and every bad input gets a clear message and a non-zero exit."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import yaml
from kubernetes import client

from gavel_devstack.harness.drops import new_drop_id
from gavel_devstack.harness.stack_env import Stack
from tests.integration.console.conftest import Gavel, drop_manifest, no_traceback, write

NOW_MS = int(time.time() * 1000)
LATER = {"starts_ms": NOW_MS + 86_400_000, "ends_ms": NOW_MS + 2 * 86_400_000}


def test_schedule_creates_then_leaves_alone_then_updates(
    gavel: Gavel, hub_api: client.CustomObjectsApi, tmp_path: Path
) -> None:
    name = new_drop_id("sch")
    doc = drop_manifest(name, **LATER)
    first = gavel("drops", "schedule", str(write(tmp_path, doc)))
    assert first.returncode == 0, first.stderr
    assert f"drop default/{name} created on the hub: home us" in first.stdout
    stored = hub_api.get_namespaced_custom_object("gavel.dev", "v1alpha1", "default", "drops", name)
    assert stored["spec"]["auction"]["startPrice"] == 100_000

    again = gavel("drops", "schedule", str(write(tmp_path, doc)))
    assert f"drop default/{name} unchanged" in again.stdout, again.stderr

    later = copy.deepcopy(doc)
    later["spec"]["auction"]["startPrice"] = 200_000
    updated = gavel("drops", "schedule", str(write(tmp_path, later)))
    assert f"drop default/{name} updated" in updated.stdout, updated.stderr
    stored = hub_api.get_namespaced_custom_object("gavel.dev", "v1alpha1", "default", "drops", name)
    assert stored["spec"]["auction"]["startPrice"] == 200_000


def test_a_spec_the_hub_refuses_shows_the_hubs_own_message(gavel: Gavel, tmp_path: Path) -> None:
    name = new_drop_id("bad")
    backwards = drop_manifest(name, starts_ms=LATER["ends_ms"], ends_ms=LATER["starts_ms"])
    out = gavel("drops", "schedule", str(write(tmp_path, backwards)))
    assert out.returncode == 1
    assert "the hub refused" in out.stderr
    assert "endsAt must be after startsAt" in out.stderr  # the CRD's CEL rule, in its words
    no_traceback(out)

    lower = drop_manifest(new_drop_id("bad"), **LATER)
    lower["spec"]["auction"]["currency"] = "euro"
    out = gavel("drops", "schedule", str(write(tmp_path, lower)))
    assert out.returncode == 1
    assert "spec.auction.currency" in out.stderr  # the schema's pattern, with the field
    no_traceback(out)


def test_rules_frozen_once_live_are_refused_by_the_hub(
    gavel: Gavel, hub_api: client.CustomObjectsApi, tmp_path: Path
) -> None:
    name = new_drop_id("frz")
    doc = drop_manifest(name, **LATER)
    assert gavel("drops", "schedule", str(write(tmp_path, doc))).returncode == 0
    # What the operator writes once the drop opens.
    hub_api.patch_namespaced_custom_object_status(
        "gavel.dev", "v1alpha1", "default", "drops", name, {"status": {"phase": "Live"}}
    )
    doc["spec"]["auction"]["startPrice"] = 1
    out = gavel("drops", "schedule", str(write(tmp_path, doc)))
    assert out.returncode == 1
    assert "spec.auction is frozen once the drop is live" in out.stderr
    no_traceback(out)


def test_a_malformed_file_is_refused_before_the_hub_is_asked(gavel: Gavel, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: gavel.dev/v1alpha1\nkind: Drop\nspec:\n  auction: [1, 2\n")
    out = gavel("drops", "schedule", str(broken))
    assert out.returncode == 2
    assert f"{broken} is not valid YAML: line 5" in out.stderr
    no_traceback(out)

    region = tmp_path / "region.yaml"
    region.write_text(yaml.safe_dump({"apiVersion": "gavel.dev/v1alpha1", "kind": "Region"}))
    out = gavel("drops", "schedule", str(region))
    assert out.returncode == 2
    assert "must be a Drop" in out.stderr

    out = gavel("drops", "schedule", str(tmp_path / "missing.yaml"))
    assert out.returncode == 2
    assert "cannot read" in out.stderr
    assert "No such file or directory" in out.stderr


def test_a_hub_that_cannot_be_reached_is_said_so(
    gavel: Gavel, stack: Stack, tmp_path: Path
) -> None:
    kubeconfig = yaml.safe_load(Path(stack.kubeconfig("hub")).read_text())
    for cluster in kubeconfig["clusters"]:
        cluster["cluster"]["server"] = "https://127.0.0.1:9"  # nothing listens on discard
    dead = tmp_path / "dead-hub.kubeconfig"
    dead.write_text(yaml.safe_dump(kubeconfig))
    doc = write(tmp_path, drop_manifest(new_drop_id("dead"), **LATER))
    started = time.monotonic()
    out = gavel("drops", "schedule", str(doc), "--kubeconfig", str(dead))
    assert out.returncode == 1
    assert "cannot reach the hub at https://127.0.0.1:9" in out.stderr
    assert time.monotonic() - started < 30
    no_traceback(out)

    out = gavel("drops", "list", env={"KUBECONFIG_HUB": str(dead)})
    assert out.returncode == 1
    assert "cannot reach the hub" in out.stderr
    no_traceback(out)

    out = gavel("drops", "list", env={"KUBECONFIG_HUB": ""})
    assert out.returncode == 2
    assert "KUBECONFIG_HUB is not set" in out.stderr
