"""The driver options of a target (login, client encryption) and the words for its failures;
connecting itself is covered by tests/integration/audit."""

from __future__ import annotations

import ssl
from pathlib import Path

from cassandra import AuthenticationFailed, Unauthorized
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import NoHostAvailable

from gavel.audit.settings import CassandraTarget
from gavel.audit.store import describe, security_options
from gavel.cassandra_auth import CassandraLogin
from tests.unit.tls import CA_NAME, write_ca


def test_an_anonymous_plain_target_adds_no_options() -> None:
    assert security_options(CassandraTarget("h", 9042, "us")) == {}


def test_a_login_becomes_a_password_authenticator_provider() -> None:
    target = CassandraTarget("h", 9042, "us", login=CassandraLogin("gavel_reader", "pw"))
    provider = security_options(target)["auth_provider"]
    assert isinstance(provider, PlainTextAuthProvider)
    assert (provider.username, provider.password) == ("gavel_reader", "pw")


def test_a_ca_file_turns_on_encryption_that_trusts_only_it_and_checks_host_names(
    tmp_path: Path,
) -> None:
    target = CassandraTarget("h", 9042, "us", ca_file=str(write_ca(tmp_path / "ca.crt")))
    context = security_options(target)["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", CA_NAME),),)]


def test_a_refused_login_names_the_user_and_never_the_password() -> None:
    target = CassandraTarget("h", 9042, "us", login=CassandraLogin("gavel_reader", "s3cret"))
    exc = NoHostAvailable("Unable to connect", {"h:9042": AuthenticationFailed("bad creds")})
    text = describe(exc, target)
    assert "refused the login of gavel_reader" in text
    assert "s3cret" not in text


def test_a_refused_request_and_an_unreachable_node_are_told_apart() -> None:
    target = CassandraTarget("h", 9042, "us", login=CassandraLogin("gavel_reader", "pw"))
    refused = describe(Unauthorized("no MODIFY permission"), target)
    assert refused.startswith("Cassandra refused gavel_reader this request")
    unreachable = describe(NoHostAvailable("down", {"h:9042": OSError("refused")}), target)
    assert unreachable.startswith("cannot reach Cassandra at h:9042")
