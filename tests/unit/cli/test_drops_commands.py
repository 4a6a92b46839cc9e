"""The console commands' own checks, before any server is asked (no hub, no Redis here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gavel.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG_HUB", raising=False)


def test_watch_flags_are_checked_first() -> None:
    out = runner.invoke(app, ["drops", "watch", "d1", "--svg", "x.svg"])
    assert out.exit_code == 2
    assert "--svg needs --once" in out.output
    out = runner.invoke(app, ["drops", "watch", "d1", "--audit-writer", "us:http://x"])
    assert out.exit_code == 2
    assert "--audit-writer takes NAME=URL, not 'us:http://x'" in out.output


def test_a_malformed_file_is_refused_without_a_hub(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Drop\nspec: [\n")
    out = runner.invoke(app, ["drops", "schedule", str(bad)])
    assert out.exit_code == 2
    assert "is not valid YAML: line 3, column 1" in out.output
    assert out.exception is None or isinstance(out.exception, SystemExit)


def test_without_a_hub_kubeconfig_the_variable_and_flag_are_named(tmp_path: Path) -> None:
    out = runner.invoke(app, ["drops", "list"])
    assert out.exit_code == 2
    assert "KUBECONFIG_HUB is not set: set it in the environment or pass --kubeconfig" in (
        out.output
    )
