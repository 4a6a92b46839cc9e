from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from gavel_devstack import progress


def plain_console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=False, width=200), out


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.4, "0 s"), (59.9, "59 s"), (60, "1 min 00 s"), (605, "10 min 05 s")]
)
def test_clock_reads_in_seconds_then_minutes(seconds: float, text: str) -> None:
    assert progress.clock(seconds) == text


def test_a_running_line_shows_the_latest_output_when_there_is_some() -> None:
    assert progress.running_line("building etcd", 75, "go.etcd.io/raft") == (
        "building etcd: 1 min 15 s, go.etcd.io/raft"
    )
    assert progress.running_line("building etcd", 3, "") == "building etcd: 3 s"


def test_last_line_skips_trailing_blank_lines_and_shortens(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("first\n" + "k8s.io/" + "a" * 300 + "\n\n\n")
    assert progress.last_line(log) == ("k8s.io/" + "a" * 300)[: progress.LAST_LINE_CHARS]
    assert progress.last_line(tmp_path / "missing.log") == ""


def test_a_plain_log_gets_a_line_while_the_step_runs_and_one_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "PLAIN_EVERY_S", 0.2)
    console, out = plain_console()
    log = tmp_path / "logs" / "build.log"
    script = "echo compiling k8s.io/apiserver; sleep 0.7"
    elapsed = progress.run_step(["bash", "-c", script], "building k8s", log, console=console)
    lines = out.getvalue().splitlines()
    assert lines[0] == "building k8s ..."
    assert "building k8s: 0 s, compiling k8s.io/apiserver" in lines[1:-1]
    assert lines[-1] == "building k8s: done in 0 s"
    assert elapsed >= 0.7
    assert log.read_text() == "compiling k8s.io/apiserver\n"


def test_a_failed_step_names_its_log_and_carries_the_tail(tmp_path: Path) -> None:
    console, out = plain_console()
    log = tmp_path / "bad.log"
    script = "for i in $(seq 1 50); do echo line $i; done; exit 4"
    with pytest.raises(progress.StepError) as failed:
        progress.run_step(["bash", "-c", script], "fetching jars", log, console=console)
    message = str(failed.value)
    assert message.startswith(f"fetching jars failed (exit 4; log {log}):\nline 21\n")
    assert message.endswith("line 50")
    assert "done" not in out.getvalue()


def test_a_terminal_gets_a_live_status_and_the_final_line(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    progress.run_step(
        ["bash", "-c", "echo hi"], "building [pause]", tmp_path / "t.log", None, console
    )
    assert "building [pause]: done in 0 s" in out.getvalue()
