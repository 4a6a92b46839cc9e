"""Carry out a herd's fault plan (:mod:`gavel.herd.chaos`) on supervised workloads.

Used by the dev stack's herd. A thread sleeps until each fault's time (from the herd's start),
then kills the workload (its supervisor restarts it) or freezes it and lets it run on after the
fault's duration. Every signal is recorded by the supervisor with its time. Stopping the plan
resumes whatever it froze, so nothing stays stopped after a herd.
"""

from __future__ import annotations

import signal
import threading
import time

from gavel.herd.chaos import Action, Fault
from gavel_devstack.harness.workloads import Supervisor


class ChaosRunner:
    def __init__(self, sup: Supervisor, faults: list[Fault]) -> None:
        self.sup, self.faults = sup, faults
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
                    self.sup.signal(name, signal.SIGCONT)
                    del self._frozen[name]
            if not pending and not self._frozen:
                return
            self._stop.wait(0.05)

    def _apply(self, fault: Fault) -> None:
        if fault.action is Action.KILL:
            self.sup.signal(fault.target, signal.SIGKILL)
        else:
            self.sup.signal(fault.target, signal.SIGSTOP)
            started = time.monotonic() - self.start_mono
            self._frozen[fault.target] = started + fault.for_s

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for name in self._frozen:
            self.sup.signal(name, signal.SIGCONT)
        self._frozen.clear()
