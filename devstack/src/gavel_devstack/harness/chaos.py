"""Carry out a herd's fault plan (:mod:`gavel.herd.chaos`) on supervised workloads and on the
stack's servers.

Used by the dev stack's herd. A thread sleeps until each fault's time (from the herd's start),
then kills the workload (its supervisor restarts it) or freezes it (a workload, or a server of
the stack such as ``kafka/eu``, found by the pid the stack recorded) and lets it run on after
the fault's duration. Every signal is recorded by the supervisor with its time. Stopping the
plan resumes whatever it froze, so nothing stays stopped after a herd.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from gavel.herd.chaos import SERVER_KINDS, Action, Fault
from gavel_devstack import stack
from gavel_devstack.harness.workloads import Supervisor


def stack_servers(run_dir: Path) -> dict[str, int]:
    """The servers of the stack in ``run_dir`` that a plan may stop, by target, to their pid."""
    state = stack.load_state(run_dir)
    if state is None:
        return {}
    return {
        key: rec.pid
        for key, rec in state.running.items()
        if rec.kind in SERVER_KINDS and rec.alive()
    }


class ChaosRunner:
    def __init__(
        self, sup: Supervisor, faults: list[Fault], servers: Mapping[str, int] | None = None
    ) -> None:
        """``servers``: the stack's servers a plan may stop, by target (``kafka/eu``) to pid."""
        self.sup, self.faults, self.servers = sup, faults, dict(servers or {})
        servers_named = {f.target for f in faults if f.kind in SERVER_KINDS}
        missing = sorted(servers_named - self.servers.keys())
        if missing:
            raise ValueError(f"no running server for {', '.join(missing)} in this stack")
        self._stop = threading.Event()
        self._frozen: dict[str, float] = {}
        self._thread = threading.Thread(target=self._run, name="chaos", daemon=True)

    def start(self) -> None:
        self.start_mono = time.monotonic()
        self._thread.start()

    def _run(self) -> None:
        pending = list(self.faults)
        while not self._stop.is_set():
            now = time.monotonic() - self.start_mono
            while pending and pending[0].at_s <= now:
                self._apply(pending.pop(0))
            for name, until in list(self._frozen.items()):
                if now >= until:
                    self._signal(name, signal.SIGCONT)
                    del self._frozen[name]
            if not pending and not self._frozen:
                return
            self._stop.wait(0.05)

    def _signal(self, target: str, sig: signal.Signals) -> None:
        if target in self.servers:
            os.kill(self.servers[target], sig)
            self.sup.record(target, sig.name)
        else:
            self.sup.signal(target, sig)

    def _apply(self, fault: Fault) -> None:
        if fault.action is Action.KILL:
            self._signal(fault.target, signal.SIGKILL)
        else:
            self._signal(fault.target, signal.SIGSTOP)
            started = time.monotonic() - self.start_mono
            self._frozen[fault.target] = started + fault.for_s

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for name in self._frozen:
            self._signal(name, signal.SIGCONT)
        self._frozen.clear()
