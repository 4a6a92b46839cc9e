"""Real signals to a real process: the handlers only work in a process's main thread."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import asyncio, logging, sys
    from gavel.lifecycle.signals import run_until_signalled

    async def work(stop: asyncio.Event) -> None:
        print("cassandra logs at", logging.getLogger("cassandra").getEffectiveLevel(), flush=True)
        print("started", flush=True)
        await stop.wait()
        print("stopping gracefully", flush=True)
        if sys.argv[1] == "crash":
            raise RuntimeError("crashed on the way out")

    run_until_signalled(work, quiet_loggers=["cassandra"])
    print("returned", flush=True)
    """
)


def start(mode: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    assert first == f"cassandra logs at {30}\n"  # logging.WARNING
    assert process.stdout.readline() == "started\n"
    return process


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_sets_the_stop_event_and_the_process_exits_cleanly(
    sig: signal.Signals,
) -> None:
    process = start("stop")
    process.send_signal(sig)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert out == "stopping gracefully\nreturned\n"
    assert "Traceback" not in err


def test_what_the_workload_raises_fails_the_process() -> None:
    process = start("crash")
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 1
    assert out == "stopping gracefully\n"
    assert "RuntimeError: crashed on the way out" in err
