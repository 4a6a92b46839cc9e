"""Gavel's workloads on the local stack as supervised processes, restarted when they die.

Used by the dev stack's herd (:mod:`gavel_devstack.herd`) and its integration test. Per region:
a gateway and a relay sharing one disk outbox, a fan-out and an audit writer, each a
``gavel ...`` process on a port of its own that it keeps across restarts. A watchdog thread
restarts a process that exited, after a back-off that doubles from 0.5 s up to 10 s and starts
over once a process ran 10 s (as a kubelet restarts a crashed container, only faster), and
records every exit, signal and restart with its time, for the herd's report.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gavel.audit.settings import DEFAULT_GROUP as DEFAULT_AUDIT_GROUP
from gavel_devstack import process, stack
from gavel_devstack.harness.processes import free_port, start_logged, stop_process, wait_ready

KINDS = ("gateway", "relay", "fanout", "audit-writer")
BACKOFF_S = (0.5, 10.0)
STEADY_S = 10.0
"""A process that ran this long before it exited restarts after the shortest back-off again."""
AUDIT_GROUP = f"{DEFAULT_AUDIT_GROUP}-herd"
"""The herd's audit writers' consumer group: their own, so no other writer on the shared stack
takes a partition of the herd's audit topic and writes it elsewhere; under the writers' prefix,
the only groups the audit writer's Kafka user may join (gavel.kafka_acls)."""


@dataclass
class Workload:
    kind: str
    region: str
    args: list[str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started: float = 0.0
    backoff_s: float = BACKOFF_S[0]

    @property
    def name(self) -> str:
        return f"{self.kind}/{self.region}"

    @property
    def probe(self) -> str:
        return f"http://127.0.0.1:{self.port}/readyz"


@dataclass
class Event:
    at: float
    """Wall clock, seconds."""
    workload: str
    what: str


@dataclass
class Supervisor:
    """Starts workloads, restarts the ones that exit, stops them all."""

    env: dict[str, str]
    log_dir: Path
    workloads: dict[str, Workload] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def add(self, kind: str, region: str, args: list[str]) -> Workload:
        port = free_port()
        w = Workload(
            kind,
            region,
            [kind, "--region", region, "--port", str(port), *args],
            port,
            self.log_dir / f"{kind}-{region}.log",
        )
        self.workloads[w.name] = w
        return w

    def _spawn(self, w: Workload) -> None:
        # A session of its own, as every stack component has (gavel_devstack.process): with the
        # kernel's autogroup scheduling a session is one scheduling group, so eight workloads
        # sharing their starter's session shared one group's CPU on a busy machine (2 % of a
        # core each; not ready in 90 s), while each JVM of the stack had a group to itself.
        w.proc = start_logged(
            [sys.executable, "-m", "gavel", *w.args], w.log, self.env, new_session=True
        )
        w.started = time.monotonic()

    def start(self, timeout_s: float | None = None) -> None:
        """Start every workload, wait until each is ready, then watch them.

        ``timeout_s`` defaults to 90 s times ``$GAVEL_STACK_TIMEOUT_SCALE``: twenty workloads
        importing at once on a busy 2-core machine took longer (docs/performance.md)."""
        if timeout_s is None:
            timeout_s = 90 * stack.timeout_scale()
        for w in self.workloads.values():
            self._spawn(w)
        for w in self.workloads.values():
            wait_ready(w.probe, w.proc, timeout_s=timeout_s, what=f"{w.name} (log {w.log})")
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            with self._lock:
                for w in self.workloads.values():
                    self._tend(w)

    def _tend(self, w: Workload) -> None:
        now = time.monotonic()
        if w.proc is not None and w.proc.poll() is not None:
            self.events.append(Event(time.time(), w.name, f"exited {w.proc.returncode}"))
            if now - w.started > STEADY_S:  # it had been fine: back-off starts over
                w.backoff_s = BACKOFF_S[0]
            w.proc, w.next_start = None, now + w.backoff_s
            w.backoff_s = min(BACKOFF_S[1], w.backoff_s * 2)
        elif w.proc is None and now >= w.next_start:
            self._spawn(w)
            w.restarts += 1
            self.events.append(Event(time.time(), w.name, "restarted"))

    def record(self, name: str, what: str) -> None:
        """Record something done to ``name`` from outside (a signal to a server of the stack)."""
        with self._lock:
            self.events.append(Event(time.time(), name, what))

    def signal(self, name: str, sig: int) -> None:
        """Send ``sig`` to one workload (chaos); the watchdog restarts it if it exits."""
        with self._lock:
            proc = self.workloads[name].proc
            if proc is not None and proc.poll() is None:
                proc.send_signal(sig)
                self.events.append(Event(time.time(), name, signal.Signals(sig).name))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for w in self.workloads.values():
            if w.proc is not None:
                stop_process(w.proc, timeout_s=15)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time each workload's current process used so far (a restart starts at 0)."""
        out = {}
        for w in self.workloads.values():
            used = process.cpu_seconds(w.proc.pid) if w.proc is not None else None
            out[w.name] = used or 0.0
        return out

    def url(self, kind: str, region: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.workloads[f'{kind}/{region}'].port}"


@contextmanager
def running_workloads(
    env: dict[str, str], regions: list[str], log_dir: Path
) -> Iterator[Supervisor]:
    """Every region's gateway, relay, fan-out and audit writer, supervised, until the end."""
    log_dir.mkdir(parents=True, exist_ok=True)
    sup = Supervisor(env, log_dir)
    for region in regions:
        outbox = str(log_dir / f"outbox-{region}")
        sup.add("gateway", region, ["--outbox-dir", outbox])
        sup.add("relay", region, ["--outbox-dir", outbox])
        sup.add("fanout", region, [])
        sup.add("audit-writer", region, ["--group", AUDIT_GROUP])
    try:
        sup.start()
        yield sup
    finally:
        sup.stop()
