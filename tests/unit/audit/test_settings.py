from __future__ import annotations

import pytest

from gavel.audit.settings import CassandraTarget, WriterSettings, parse_contact, target_from_env
from gavel.backoff import Backoff
from gavel.cassandra_auth import READER, CassandraLogin


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:26950", ("127.0.0.1", 26950)),
        ("cassandra.audit.svc", ("cassandra.audit.svc", 9042)),
        ("[::1]:9043", ("::1", 9043)),
        ("[::1]", ("::1", 9042)),
    ],
)
def test_contacts(text: str, expected: tuple[str, int]) -> None:
    assert parse_contact(text) == expected


@pytest.mark.parametrize("text", ["", ":9042", "host:0", "host:x", "host:70000"])
def test_bad_contacts(text: str) -> None:
    with pytest.raises(ValueError, match="invalid Cassandra contact"):
        parse_contact(text)


def test_settings_default_to_the_local_dc_with_one_replica() -> None:
    s = WriterSettings("us", "k:1", CassandraTarget("h", 1, "dc1"), port=0)
    assert s.replication_map == {"dc1": 1}
    assert s.cassandra.keyspace == "gavel_audit"
    assert s.effective_client_id.startswith("audit-writer-us-")
    s2 = WriterSettings(
        "us", "k:1", CassandraTarget("h", 1, "dc1"), port=0, replication=(("a", 3), ("b", 3))
    )
    assert s2.replication_map == {"a": 3, "b": 3}


def test_bad_settings_are_refused_together() -> None:
    with pytest.raises(ValueError, match=r"port .*; max_in_flight"):
        WriterSettings("us", "k", CassandraTarget("h", 1, "dc1"), port=-1, max_in_flight=0)
    with pytest.raises(ValueError, match="invalid keyspace"):
        CassandraTarget("h", 1, "dc1", keyspace="Bad-Name")


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    b = Backoff(initial_s=0.2, max_s=5.0)
    assert b.delay(1, 0.0) == pytest.approx(0.1)
    assert b.delay(1, 1.0) == pytest.approx(0.2)
    assert b.delay(3, 1.0) == pytest.approx(0.8)
    assert b.delay(10_000, 1.0) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="invalid backoff"):
        Backoff(initial_s=0)


def test_a_target_from_the_environment_carries_its_roles_login_and_the_ca() -> None:
    env = {
        "CASSANDRA_CONTACT": "cass:9142",
        "CASSANDRA_DC": "us",
        "CASSANDRA_USER_READER": "gavel_reader",
        "CASSANDRA_PASSWORD_READER": "pw",
        "CASSANDRA_USER_WRITER": "gavel_writer",
        "CASSANDRA_PASSWORD_WRITER": "other",
        "CASSANDRA_CA_FILE": "/ca/ca.crt",
    }
    target = target_from_env(READER, env=env)
    assert target == CassandraTarget(
        "cass", 9142, "us", login=CassandraLogin("gavel_reader", "pw"), ca_file="/ca/ca.crt"
    )
    # Flags win over the environment.
    flagged = target_from_env(READER, "other:1", "eu", env=env)
    assert (flagged.host, flagged.port, flagged.local_dc) == ("other", 1, "eu")
