"""Cassandra logins and client encryption in the rendered topology: the audit writer gets only
the writer role's Secret and the CA, no other pod gets either, and without a login the writer
keeps applying the schema itself."""

from __future__ import annotations

from typing import Any

import yaml

from gavel import cassandra_auth, endpoints
from gavel.resources.region import RegionSpec
from gavel_operator.rendering import RegionView, render_region
from tests.unit.gavel_operator.test_rendering import EXAMPLES


def _regions(*, users: bool = True, ca: bool = True) -> list[RegionView]:
    views = []
    for doc in yaml.safe_load_all(EXAMPLES.read_text()):
        cassandra = doc["spec"]["endpoints"]["cassandra"]
        if not users:
            del cassandra["users"]
        if not ca:
            del cassandra["caSecret"]
        views.append(RegionView.of(doc["metadata"]["name"], RegionSpec.model_validate(doc["spec"])))
    return views


def _pods(regions: list[RegionView]) -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]
        for o in render_region(regions[0], regions)
        if o["kind"] == "Deployment"
    }


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_the_audit_writer_logs_in_as_the_writer_role_only() -> None:
    writer = _pods(_regions())["gavel-audit-writer"]["containers"][0]
    env = _env(writer)
    for var, key in (
        (endpoints.cassandra_user_var(cassandra_auth.WRITER), "username"),
        (endpoints.cassandra_password_var(cassandra_auth.WRITER), "password"),
    ):
        assert env[var] == {"secretKeyRef": {"name": "gavel-cassandra-writer", "key": key}}
    # The reader's and the admin's logins reach no pod.
    assert not {
        endpoints.cassandra_user_var(cassandra_auth.READER),
        endpoints.cassandra_user_var(cassandra_auth.ADMIN),
    } & set(env)
    # The writer role may not change the schema: the admin applies it.
    assert "--no-migrate" in writer["args"]


def test_no_other_pod_gets_a_cassandra_login_or_its_ca() -> None:
    for name, pod in _pods(_regions()).items():
        if name == "gavel-audit-writer":
            continue
        for container in pod["containers"]:
            assert not [v for v in _env(container) if v.startswith("CASSANDRA_USER_")], name
            assert endpoints.CASSANDRA_CA_FILE not in _env(container), name
        assert "cassandra-ca" not in [v["name"] for v in pod.get("volumes", [])], name


def test_the_ca_secret_is_mounted_where_the_writer_reads_it() -> None:
    pod = _pods(_regions())["gavel-audit-writer"]
    writer = pod["containers"][0]
    ca_file = _env(writer)[endpoints.CASSANDRA_CA_FILE]
    (mount,) = [m for m in writer["volumeMounts"] if m["name"] == "cassandra-ca"]
    assert ca_file == f"{mount['mountPath']}/ca.crt"
    assert mount["readOnly"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "cassandra-ca"]
    assert volume["secret"]["secretName"] == "gavel-cassandra-ca"


def test_without_users_or_ca_the_writer_is_anonymous_plain_and_migrates_itself() -> None:
    pod = _pods(_regions(users=False, ca=False))["gavel-audit-writer"]
    writer = pod["containers"][0]
    cassandra_vars = {v for v in _env(writer) if v.startswith("CASSANDRA_")}
    assert cassandra_vars == {endpoints.CASSANDRA_CONTACT, endpoints.CASSANDRA_DC}
    assert "--no-migrate" not in writer["args"]
    assert "cassandra-ca" not in [v["name"] for v in pod.get("volumes", [])]


def test_a_ca_without_users_still_encrypts() -> None:
    writer = _pods(_regions(users=False))["gavel-audit-writer"]["containers"][0]
    env = _env(writer)
    assert endpoints.CASSANDRA_CA_FILE in env
    assert endpoints.cassandra_user_var(cassandra_auth.WRITER) not in env
