from __future__ import annotations

import base64
import json

from gavel_operator.enrolment import kubeconfig_for, kubeconfig_secret


def test_the_kubeconfig_is_self_contained() -> None:
    config = kubeconfig_for("eu", "https://eu.example:6443", b"PEM", "tok")
    cluster = config["clusters"][0]["cluster"]
    assert base64.b64decode(cluster["certificate-authority-data"]) == b"PEM"
    assert "certificate-authority" not in cluster
    assert config["users"][0]["user"] == {"token": "tok"}
    assert config["current-context"] == "eu"


def test_without_a_ca_the_system_trust_applies() -> None:
    config = kubeconfig_for("eu", "https://eu.example", None, "tok")
    assert "certificate-authority-data" not in config["clusters"][0]["cluster"]


def test_the_secret_is_the_one_a_region_refers_to() -> None:
    secret = kubeconfig_secret("eu", "gavel-system", {"k": "v"})
    assert secret["metadata"]["name"] == "gavel-region-eu"
    assert json.loads(secret["stringData"]["kubeconfig"]) == {"k": "v"}
