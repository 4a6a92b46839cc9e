from __future__ import annotations

import pytest

from gavel import endpoints, kafka_auth


def test_a_roles_credential_round_trips_through_the_environment() -> None:
    auth = kafka_auth.KafkaAuth("gavel-relay", "pw")
    env = kafka_auth.to_env(kafka_auth.RELAY, auth)
    assert env == {
        "KAFKA_USER_RELAY": "gavel-relay",
        "KAFKA_PASSWORD_RELAY": "pw",
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    }
    assert kafka_auth.from_env(kafka_auth.RELAY, env) == auth
    # Another role's variables are not this role's credential.
    assert kafka_auth.from_env(kafka_auth.FANOUT, env) is None


def test_no_user_means_no_authentication_and_a_user_without_password_is_an_error() -> None:
    assert kafka_auth.client_settings(kafka_auth.from_env(kafka_auth.FANOUT, {})) == {}
    with pytest.raises(endpoints.MissingEndpointError, match="KAFKA_PASSWORD_AUDIT_WRITER"):
        kafka_auth.from_env(kafka_auth.AUDIT_WRITER, {"KAFKA_USER_AUDIT_WRITER": "w"})


def test_client_settings_use_scram_sha_512() -> None:
    settings = kafka_auth.client_settings(kafka_auth.KafkaAuth("u", "p"))
    assert settings == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "u",
        "sasl_plain_password": "p",
    }


def test_bad_credentials_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="SASL_SSL needs the CA"):
        kafka_auth.KafkaAuth("u", "p", kafka_auth.SASL_SSL)
    with pytest.raises(ValueError, match="SASL_PLAINTEXT or SASL_SSL"):
        kafka_auth.KafkaAuth("u", "p", "PLAINTEXT")
    with pytest.raises(ValueError, match="user name and a password"):
        kafka_auth.KafkaAuth("u", "")
    with pytest.raises(ValueError, match="unknown Kafka role"):
        kafka_auth.username("gateway")


def test_the_password_never_shows_in_a_repr() -> None:
    assert "secret-pw" not in repr(kafka_auth.KafkaAuth("u", "secret-pw"))
