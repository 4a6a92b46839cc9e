"""Kafka users and TLS in the rendered topology: each workload gets its own Secret's user, the
CA is mounted where a client uses it, MirrorMaker's ConfigMap names no password."""

from __future__ import annotations

from typing import Any

import yaml

from gavel import endpoints, kafka_auth
from gavel.resources.region import RegionSpec
from gavel_operator.rendering import RegionView, render_region
from tests.unit.gavel_operator.test_rendering import EXAMPLES


def _regions(with_ca: bool = True) -> list[RegionView]:
    views = []
    for doc in yaml.safe_load_all(EXAMPLES.read_text()):
        if not with_ca:
            del doc["spec"]["kafka"]["caSecret"]
        views.append(RegionView.of(doc["metadata"]["name"], RegionSpec.model_validate(doc["spec"])))
    return views


def _pods(regions: list[RegionView]) -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]
        for o in render_region(regions[0], regions)
        if o["kind"] == "Deployment"
    }


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_each_kafka_client_gets_only_its_own_users_secret() -> None:
    pods = _pods(_regions())
    expected = {
        "gavel-relay": ("relay", kafka_auth.RELAY, "gavel-kafka-relay"),
        "gavel-fanout": ("fanout", kafka_auth.FANOUT, "gavel-kafka-fanout"),
        "gavel-audit-writer": ("audit-writer", kafka_auth.AUDIT_WRITER, "gavel-kafka-audit-writer"),
        "gavel-gateway": ("outbox-shipper", kafka_auth.RELAY, "gavel-kafka-relay"),
    }
    for deployment, (container_name, role, secret) in expected.items():
        container = next(c for c in pods[deployment]["containers"] if c["name"] == container_name)
        env = _env(container)
        user = env[endpoints.kafka_user_var(role)]["secretKeyRef"]
        password = env[endpoints.kafka_password_var(role)]["secretKeyRef"]
        assert (user, password) == (
            {"name": secret, "key": "username"},
            {"name": secret, "key": "password"},
        )
        others = [r for r in kafka_auth.ROLES if r != role]
        assert not [r for r in others if endpoints.kafka_password_var(r) in env], deployment
        assert env[endpoints.KAFKA_SECURITY_PROTOCOL] == kafka_auth.SASL_SSL
        assert env[endpoints.KAFKA_CA_FILE] == "/etc/gavel/kafka-ca/ca.crt"
        assert {"name": "kafka-ca", "mountPath": "/etc/gavel/kafka-ca", "readOnly": True} in (
            container["volumeMounts"]
        )
    gateway = pods["gavel-gateway"]["containers"][0]
    assert not [k for k in _env(gateway) if k.startswith("KAFKA_PASSWORD")]


def test_mirrormaker_reads_its_secret_as_files_and_uses_tls() -> None:
    regions = _regions()
    objects = render_region(regions[0], regions)
    config = next(o for o in objects if o["kind"] == "ConfigMap" and "mm2.properties" in o["data"])
    text = config["data"]["mm2.properties"]
    for region in (r.name for r in regions):
        assert f"{region}.security.protocol = SASL_SSL" in text
        assert f"{region}.ssl.truststore.location = /etc/gavel/kafka-ca/ca.crt" in text
    assert "${directory:/etc/gavel/kafka-user:password}" in text
    assert "sync.topic.acls.enabled = false" in text
    pod = _pods(regions)["gavel-mirrormaker"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["kafka-user"]["secret"]["secretName"] == "gavel-kafka-mirror"
    assert volumes["kafka-ca"]["secret"]["secretName"] == "gavel-kafka-ca"


def test_without_a_ca_clients_use_sasl_plaintext_and_mount_nothing() -> None:
    pods = _pods(_regions(with_ca=False))
    relay = pods["gavel-relay"]["containers"][0]
    assert _env(relay)[endpoints.KAFKA_SECURITY_PROTOCOL] == kafka_auth.SASL_PLAINTEXT
    assert endpoints.KAFKA_CA_FILE not in _env(relay)
    assert "kafka-ca" not in [v["name"] for v in pods["gavel-relay"].get("volumes", [])]
