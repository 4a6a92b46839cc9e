from __future__ import annotations

import pytest

from gavel.audit import schema


def test_keyspace_uses_network_topology_with_one_entry_per_dc() -> None:
    cql = schema.keyspace_cql("gavel_audit", {"us-east": 3, "eu-west": 3})
    assert cql.startswith("CREATE KEYSPACE IF NOT EXISTS gavel_audit WITH replication = ")
    assert "'class': 'NetworkTopologyStrategy'" in cql
    assert "'eu-west': 3, 'us-east': 3" in cql


def test_replication_map_is_what_cassandra_stores() -> None:
    assert schema.replication_map({"datacenter1": 1}) == {
        "class": "org.apache.cassandra.locator.NetworkTopologyStrategy",
        "datacenter1": "1",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dc1=3", {"dc1": 3}),
        ("us-east=3, eu-west:2", {"us-east": 3, "eu-west": 2}),
        ("dc1=1,", {"dc1": 1}),
    ],
)
def test_parse_replication(text: str, expected: dict[str, int]) -> None:
    assert schema.parse_replication(text) == expected


@pytest.mark.parametrize("text", ["", "dc1", "dc1=0", "=3", "dc1=x", "dc1=1,dc1=2", "dc1=-1"])
def test_parse_replication_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"replication|data centre|DC"):
        schema.parse_replication(text)


@pytest.mark.parametrize("name", ["Gavel", "1abc", "a-b", "", "a" * 49, "a;drop"])
def test_keyspace_names_are_checked(name: str) -> None:
    with pytest.raises(ValueError, match="invalid keyspace name"):
        schema.check_name(name)


def test_table_ids_are_deterministic_per_keyspace_and_table() -> None:
    assert schema.table_id("k", "t") == schema.table_id("k", "t")
    assert schema.table_id("k", "t") != schema.table_id("k2", "t")
    assert schema.table_id("k", "t") != schema.table_id("k", "t2")


def test_migrations_are_idempotent_statements_with_rising_versions() -> None:
    versions = [m.version for m in schema.MIGRATIONS]
    assert versions == sorted(set(versions))
    assert versions[0] == 1
    for migration in schema.MIGRATIONS:
        for statement in migration.render("ks1"):
            if statement.startswith("ALTER TABLE"):
                assert statement.startswith("ALTER TABLE ks1.bid_attempts ADD IF NOT EXISTS ")
                continue
            assert statement.startswith("CREATE TABLE IF NOT EXISTS ks1.")
            assert "{" not in statement.split("ks1.", 1)[1].split("(", 1)[0]
            assert f"ID = {schema.table_id('ks1', statement.split('ks1.')[1].split()[0])}" in (
                statement
            )


def test_attempts_table_key_is_drop_bucket_then_time_and_event_id() -> None:
    (create_attempts, create_buckets) = schema.MIGRATIONS[0].render("k")
    assert "PRIMARY KEY ((drop_id, bucket), decided_ms, event_id)" in create_attempts
    assert "CLUSTERING ORDER BY (decided_ms ASC, event_id ASC)" in create_attempts
    for column, kind in schema.ATTEMPT_COLUMNS_V1:
        assert f"{column} {kind}" in create_attempts
    assert "chain" not in create_attempts  # an applied migration never changes
    assert "PRIMARY KEY (drop_id, bucket)" in create_buckets


def test_version_2_adds_the_chain_columns_to_an_existing_table() -> None:
    statements = schema.MIGRATIONS[1].render("k")
    assert statements == [
        f"ALTER TABLE k.bid_attempts ADD IF NOT EXISTS {name} {kind}"
        for name, kind in schema.CHAIN_COLUMNS
    ]
    assert schema.ATTEMPT_COLUMNS == schema.ATTEMPT_COLUMNS_V1 + schema.CHAIN_COLUMNS
    assert schema.LATEST_VERSION == 2


def test_every_event_field_has_a_column() -> None:
    from gavel.events import BidEvent
    from tests.support.records import flat_names

    fields = flat_names(BidEvent) - {"drop", "v"}
    assert fields | {"drop_id", "bucket", "schema_v"} == set(schema.COLUMN_NAMES)
