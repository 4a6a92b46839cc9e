"""``gavel herd``'s flags: every mistake is refused with a message that names it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gavel.cli import app

BASE = ["herd", "--gateway", "us=http://127.0.0.1:1", "--fanout", "us=ws://127.0.0.1:1"]


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        (["--gateway", "eu"], "--gateway takes REGION=URL, not 'eu'"),
        (["--gateway", "eu=http://127.0.0.1:2"], "missing --fanout eu="),
        (["--bidders", "0"], "--bidders must be at least 1"),
        (["--profile", "stampede"], "unknown profile 'stampede'"),
        (["--home", "ap"], "--home ap is not one of the regions"),
        (["--bid-rate", "0"], "--bid-rate must be positive"),
        (["--client-processes", "-1"], "--client-processes"),
    ],
)
def test_bad_flags_are_refused_naming_the_mistake(
    extra: list[str], error: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL_US", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("GAVEL_TOKEN_MINT_URL", "http://127.0.0.1:1/mint")
    monkeypatch.setenv("CASSANDRA_CONTACT", "127.0.0.1:1")
    monkeypatch.setenv("CASSANDRA_DC", "dc1")
    result = CliRunner().invoke(app, [*BASE, *extra])
    assert result.exit_code == 2
    assert error in " ".join(result.output.split()).replace("│", "").replace("  ", " ")
