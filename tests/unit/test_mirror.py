from __future__ import annotations

import pytest

from gavel import mirror

BOOTSTRAPS = {"us": "k-us:9092", "eu": "k-eu:9092", "in": "k-in:9092"}


def _props(text: str) -> dict[str, str]:
    return {
        k.strip(): v.strip()
        for k, v in (
            line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
        )
    }


def test_region_pulls_only_price_from_every_other_region() -> None:
    props = _props(mirror.render_mirrormaker_config("eu", BOOTSTRAPS))
    assert props["us->eu.enabled"] == "true"
    assert props["in->eu.enabled"] == "true"
    assert props["us->eu.topics"] == r"gavel\.price"
    assert not any(k.startswith("eu->") for k in props)  # never pushes out of its region
    assert props["clusters"] == "eu, in, us"
    assert props["eu.bootstrap.servers"] == "k-eu:9092"


def test_latency_and_noise_settings() -> None:
    props = _props(mirror.render_mirrormaker_config("us", BOOTSTRAPS))
    assert props["us.producer.linger.ms"] == "0"
    assert props["us.producer.acks"] == "all"
    assert props["refresh.topics.interval.seconds"] == "5"
    assert props["emit.heartbeats.enabled"] == "false"
    # A long wait costs no latency only while the broker answers at the first byte.
    assert props["eu.consumer.fetch.max.wait.ms"] == "500"
    assert props["eu.consumer.fetch.min.bytes"] == "1"


def test_replication_factor_applies_to_every_internal_topic() -> None:
    props = _props(
        mirror.render_mirrormaker_config(
            "us", BOOTSTRAPS, mirror.MirrorSettings(replication_factor=1)
        )
    )
    rf_keys = [k for k in props if k.endswith("replication.factor")]
    assert len(rf_keys) == 7
    assert {props[k] for k in rf_keys} == {"1"}


def test_output_is_stable() -> None:
    assert mirror.render_mirrormaker_config("us", BOOTSTRAPS) == mirror.render_mirrormaker_config(
        "us", dict(reversed(BOOTSTRAPS.items()))
    )


def test_unknown_target_is_refused() -> None:
    with pytest.raises(ValueError, match="no bootstrap"):
        mirror.render_mirrormaker_config("ap", BOOTSTRAPS)


def test_with_auth_every_cluster_gets_scram_and_the_credential_stays_in_files() -> None:
    auth = mirror.MirrorAuth(credential_dir="/etc/gavel/kafka-user")
    text = mirror.render_mirrormaker_config("us", {"us": "a:1", "eu": "b:1"}, auth=auth)
    for region in ("us", "eu"):
        assert f"{region}.security.protocol = SASL_PLAINTEXT" in text
        assert f"{region}.sasl.mechanism = SCRAM-SHA-512" in text
    assert 'password="${directory:/etc/gavel/kafka-user:password}"' in text
    assert "config.providers.directory.class" in text
    tls = mirror.MirrorAuth(credential_dir="/c", ca_file="/ca/ca.crt")
    text = mirror.render_mirrormaker_config("us", {"us": "a:1", "eu": "b:1"}, auth=tls)
    assert "eu.security.protocol = SASL_SSL" in text
    assert "eu.ssl.truststore.type = PEM" in text
