from __future__ import annotations

import pytest

from gavel import cassandra_auth, endpoints
from gavel.cassandra_auth import CassandraLogin


def test_a_roles_login_round_trips_through_the_environment() -> None:
    login = CassandraLogin("gavel_writer", "pw")
    env = cassandra_auth.to_env(cassandra_auth.WRITER, login, "/etc/ca/ca.crt")
    assert env == {
        "CASSANDRA_USER_WRITER": "gavel_writer",
        "CASSANDRA_PASSWORD_WRITER": "pw",
        "CASSANDRA_CA_FILE": "/etc/ca/ca.crt",
    }
    assert cassandra_auth.login_from_env(cassandra_auth.WRITER, env) == login
    assert cassandra_auth.ca_file_from_env(env) == "/etc/ca/ca.crt"
    # The writer's variables are not the reader's login: a process holds one role only.
    assert cassandra_auth.login_from_env(cassandra_auth.READER, env) is None


def test_no_user_means_no_authentication_and_a_user_without_password_is_an_error() -> None:
    assert cassandra_auth.login_from_env(cassandra_auth.READER, {}) is None
    assert cassandra_auth.ca_file_from_env({}) is None
    assert cassandra_auth.to_env(cassandra_auth.READER, None, None) == {}
    with pytest.raises(endpoints.MissingEndpointError, match="CASSANDRA_PASSWORD_READER"):
        cassandra_auth.login_from_env(cassandra_auth.READER, {"CASSANDRA_USER_READER": "r"})


def test_a_login_never_prints_its_password_and_needs_both_parts() -> None:
    assert "s3cret" not in repr(CassandraLogin("gavel_reader", "s3cret"))
    with pytest.raises(ValueError, match="user name and a password"):
        CassandraLogin("gavel_reader", "")


def test_role_names_are_fixed_and_unknown_roles_refused() -> None:
    assert [cassandra_auth.username(r) for r in cassandra_auth.ROLES] == [
        "gavel_writer",
        "gavel_reader",
        "gavel_admin",
    ]
    with pytest.raises(ValueError, match="unknown Cassandra role 'root'"):
        cassandra_auth.username("root")


def test_the_reader_may_only_select_and_the_writer_may_not_touch_the_schema() -> None:
    grants = cassandra_auth.grant_statements("gavel_audit")
    assert [g for g in grants if g.endswith("TO gavel_reader")] == [
        "GRANT SELECT ON KEYSPACE gavel_audit TO gavel_reader"
    ]
    assert sorted(g for g in grants if g.endswith("TO gavel_writer")) == [
        "GRANT MODIFY ON KEYSPACE gavel_audit TO gavel_writer",
        "GRANT SELECT ON KEYSPACE gavel_audit TO gavel_writer",
    ]
    assert not [g for g in grants if "ALL KEYSPACES" in g and not g.endswith("gavel_admin")]
    with pytest.raises(ValueError, match="invalid keyspace name"):
        cassandra_auth.grant_statements("x; DROP KEYSPACE y")


def test_role_statements_quote_passwords_and_refuse_empty_ones() -> None:
    (create, alter) = cassandra_auth.role_statements({cassandra_auth.READER: "it's"})
    assert create == (
        "CREATE ROLE IF NOT EXISTS gavel_reader WITH LOGIN = true AND PASSWORD = 'it''s'"
    )
    assert alter == "ALTER ROLE gavel_reader WITH PASSWORD = 'it''s'"
    with pytest.raises(ValueError, match="empty password for Cassandra role gavel_writer"):
        cassandra_auth.role_statements({cassandra_auth.WRITER: ""})


def test_the_admin_grants_the_clients_what_a_superuser_grants_on_a_foreign_keyspace() -> None:
    clients = cassandra_auth.client_grant_statements("gavel_audit")
    assert all(g.endswith(("TO gavel_writer", "TO gavel_reader")) for g in clients)
    everything = cassandra_auth.grant_statements("gavel_audit")
    assert set(clients) <= set(everything)
    # Creating keyspaces is the admin's only right beyond its own keyspaces.
    assert cassandra_auth.admin_grant_statements() == (
        "GRANT CREATE ON ALL KEYSPACES TO gavel_admin",
    )
    with pytest.raises(ValueError, match="invalid keyspace name"):
        cassandra_auth.client_grant_statements("gavel_audit TO gavel_reader; --")


def test_a_password_statement_quotes_the_password_and_checks_the_role_name() -> None:
    assert (
        cassandra_auth.password_statement("cassandra", "a'b")
        == "ALTER ROLE cassandra WITH PASSWORD = 'a''b'"
    )
    with pytest.raises(ValueError, match="invalid role name"):
        cassandra_auth.password_statement("x WITH SUPERUSER = true", "pw")
    with pytest.raises(ValueError, match="empty password"):
        cassandra_auth.password_statement("cassandra", "")
