"""Bring the local stack up, report on it and take it down.

Called by :mod:`gavel_devstack.cli`. ``up`` is declarative: it makes the running stack match the
request (regions and kinds), keeps what already runs with the same configuration, restarts what
changed, stops what is no longer asked for and starts the rest, each component as soon as what
it depends on is ready. Every spawned pid is written to ``state.json`` at once, so ``down`` can
stop everything even after an ``up`` that failed half-way; ``down`` also sweeps ``/proc`` for any
process marked (in its environment) as spawned for this run folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from gavel import endpoints, redis_replication, redis_url
from gavel_devstack import (
    cassandra_security,
    components,
    components_issuer,
    components_redis,
    install,
    kafka_security,
    layout,
    node_host,
    process,
    redis_auth,
)
from gavel_devstack.component import Component

STATE_FILE = "state.json"


class StackError(RuntimeError):
    """``up`` could not bring every component to ready; the message says which and why."""


@dataclass(slots=True)
class Running:
    """A component as recorded in ``state.json``."""

    kind: str
    region: str
    port: int
    pid: int
    started: int
    fingerprint: str
    log: str

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.region}"

    def alive(self) -> bool:
        return process.is_alive(self.pid, self.started)


@dataclass(slots=True)
class State:
    """What one run folder knows about its stack."""

    block: int
    regions: tuple[str, ...]
    kinds: tuple[str, ...]
    running: dict[str, Running]

    def to_json(self) -> str:
        return json.dumps(
            {
                "block": self.block,
                "regions": list(self.regions),
                "kinds": list(self.kinds),
                "running": {
                    k: {f: getattr(r, f) for f in Running.__slots__}
                    for k, r in self.running.items()
                },
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> State:
        raw = json.loads(text)
        return cls(
            raw["block"],
            tuple(raw["regions"]),
            tuple(raw["kinds"]),
            {k: Running(**v) for k, v in raw["running"].items()},
        )


def timeout_scale() -> float:
    """``$GAVEL_STACK_TIMEOUT_SCALE`` stretches (slow machine) or shrinks every ready timeout."""
    return float(os.environ.get("GAVEL_STACK_TIMEOUT_SCALE", "1"))


def default_run_dir() -> Path:
    env = os.environ.get("GAVEL_STACK_DIR")
    return Path(env) if env else install.repo_root() / ".stack"


def load_state(run_dir: Path) -> State | None:
    try:
        return State.from_json((run_dir / STATE_FILE).read_text())
    except (OSError, ValueError, KeyError):
        return None


def _save_state(run_dir: Path, state: State) -> None:
    tmp = run_dir / f"{STATE_FILE}.tmp"
    tmp.write_text(state.to_json())
    tmp.replace(run_dir / STATE_FILE)


# --- port blocks -------------------------------------------------------------------------------


def _claims_dir() -> Path:
    d = Path(tempfile.gettempdir()) / "gavel-stack-ports"
    d.mkdir(exist_ok=True)
    return d


@contextlib.contextmanager
def _claims_lock() -> Iterator[Path]:
    d = _claims_dir()
    with (d / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield d


def _claim_is_live(claim: Path) -> bool:
    owner = Path(claim.read_text().strip())
    state = load_state(owner)
    if state is None or str(state.block) != claim.name:
        return False
    recent = time.time() - (owner / STATE_FILE).stat().st_mtime < 24 * 3600
    return recent or any(r.alive() for r in state.running.values())


def _ports_free(ports: layout.StackPorts) -> bool:
    for port in ports.all_ports():
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def claim_block(run_dir: Path) -> int:
    """Reserve a port block no other stack holds and whose ports are all free right now."""
    with _claims_lock() as claims:
        start = layout.preferred_block(str(run_dir))
        for i in range(layout.BLOCKS):
            block = (start + i) % layout.BLOCKS
            claim = claims / str(block)
            if (
                claim.exists()
                and claim.read_text().strip() != str(run_dir)
                and _claim_is_live(claim)
            ):
                continue
            if not _ports_free(layout.ports_for_block(block)):
                continue
            claim.write_text(str(run_dir))
            return block
    raise StackError(f"no free port block between {layout.FIRST_PORT} and {layout.LAST_PORT}")


def release_block(run_dir: Path, block: int) -> None:
    with _claims_lock() as claims:
        claim = claims / str(block)
        if claim.exists() and claim.read_text().strip() == str(run_dir):
            claim.unlink()


# --- up ----------------------------------------------------------------------------------------

Report = Callable[[str, Component, str], None]
"""Progress callback: (event, component, detail) with event in waiting/starting/ready/failed."""


def up(run_dir: Path, regions: tuple[str, ...], kinds: set[str], report: Report) -> State:
    """Make the stack in ``run_dir`` run exactly ``regions`` x ``kinds``; raise StackError."""
    run_dir = run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    previous = load_state(run_dir)
    block = previous.block if previous else claim_block(run_dir)
    state = State(
        block,
        regions,
        tuple(k for k in components.KINDS if k in kinds),
        dict(previous.running) if previous else {},
    )
    _save_state(run_dir, state)
    inst = install.ensure(kinds)
    planned = components.plan(regions, kinds, layout.ports_for_block(block), inst, run_dir)
    wanted = {c.key: c for c in planned}
    stale = [
        rec
        for key, rec in state.running.items()
        if key not in wanted or wanted[key].fingerprint() != rec.fingerprint or not rec.alive()
    ]
    _stop_records(run_dir, state, stale)
    _Launch(run_dir, state, planned, report).run()
    return state


class _Launch:
    """Starts planned components, one thread each, as soon as their dependencies are ready."""

    def __init__(
        self, run_dir: Path, state: State, planned: list[Component], report: Report
    ) -> None:
        self.run_dir, self.state, self.planned, self.report = run_dir, state, planned, report
        self.ready = {c.key: threading.Event() for c in planned}
        self.failures: dict[str, str] = {}
        self.lock = threading.Lock()

    def run(self) -> None:
        threads = [
            threading.Thread(target=self._bring_up, args=(c,), name=c.key) for c in self.planned
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if self.failures:
            details = []
            for key, why in self.failures.items():
                rec = self.state.running.get(key)
                tail = process.log_tail(Path(rec.log)) if rec else "(never started)"
                details.append(f"--- {key}: {why}\n{tail}")
            raise StackError("some components did not come up:\n" + "\n".join(details))

    def _bring_up(self, comp: Component) -> None:
        try:
            for dep in comp.after:
                self.report("waiting", comp, dep)
                self.ready[dep].wait()
                if dep in self.failures:
                    raise StackError(f"needs {dep}, which failed")
            self._start(comp)
            begun = time.monotonic()
            self._wait_ready(comp)
            if comp.when_ready:
                comp.when_ready()
            self.report("ready", comp, f"{time.monotonic() - begun:.1f}s")
        except BaseException as exc:  # noqa: BLE001 - a thread must report, never die silently
            self.failures[comp.key] = str(exc)
            self.report("failed", comp, str(exc))
        finally:
            self.ready[comp.key].set()

    def _start(self, comp: Component) -> None:
        if comp.key in self.state.running:
            self.report("starting", comp, "already running")
            return
        for path, text in comp.files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        if comp.prepare:
            comp.prepare()
        log = self.run_dir / "logs" / comp.log_name
        self.report("starting", comp, str(log))
        pid, started = process.spawn(comp.argv, log, cwd=self.run_dir)
        with self.lock:
            self.state.running[comp.key] = Running(
                comp.kind, comp.region, comp.port, pid, started, comp.fingerprint(), str(log)
            )
            _save_state(self.run_dir, self.state)

    def _wait_ready(self, comp: Component) -> None:
        limit = comp.timeout_s * timeout_scale()
        deadline = time.monotonic() + limit
        pause = 0.2
        while not comp.probe():
            rec = self.state.running[comp.key]
            if not rec.alive():
                raise StackError(f"exited before it was ready; log {rec.log}")
            if time.monotonic() > deadline:
                raise StackError(f"not ready after {limit:.0f}s; log {rec.log}")
            # Back off: probes of slow JVMs would otherwise steal CPU from their start.
            time.sleep(pause)
            pause = min(2.0, pause * 1.5)


# --- down --------------------------------------------------------------------------------------

_STOP_ORDER = (
    "kube-proxy",
    "kubelet",
    "containerd",
    # Sentinels before Redis: stopping them after the primary would start a pointless failover.
    *components_redis.SENTINEL_KINDS,
    "mirror",
    "kwok",
    "scheduler",
    "controllers",
    "apiserver",
    "kafka",
    "cassandra",
    "redis",
    *components_redis.REPLICA_KINDS,
    "etcd",
    "issuer",
)


def down(run_dir: Path, purge: bool = False) -> list[str]:
    """Stop every process of the stack in ``run_dir``; returns what was stopped."""
    run_dir = run_dir.resolve()
    state = load_state(run_dir)
    stopped = _stop_records(run_dir, state, list(state.running.values())) if state else []
    stopped += [f"stray pid {pid}" for pid in _sweep(run_dir)]
    if state:
        # Containers outlive their containerd and kubelet: they are in neither's process group.
        stopped += node_host.clean_up(run_dir, state.block)
    if purge and run_dir.exists():
        if state:
            release_block(run_dir, state.block)
        import shutil  # noqa: PLC0415

        shutil.rmtree(run_dir)
    return stopped


def _stop_records(run_dir: Path, state: State, recs: list[Running]) -> list[str]:
    """Stop ``recs`` consumers first (MirrorMaker before Kafka...), each kind in parallel."""
    stopped = []
    for kind in _STOP_ORDER:
        batch = [r for r in recs if r.kind == kind]
        threads = [threading.Thread(target=process.stop, args=(r.pid, r.started)) for r in batch]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in batch:
            stopped.append(r.key)
            state.running.pop(r.key, None)
        _save_state(run_dir, state)
    return stopped


def _sweep(run_dir: Path) -> list[int]:
    """Kill any process left from the stack in ``run_dir`` (lost state, a crash mid-``up``)."""
    found = []
    for pid in process.members(run_dir):
        started = process.start_time(pid)
        if started is not None:
            process.stop(pid, started, grace_s=5)
            found.append(pid)
    return found


# --- env and status ----------------------------------------------------------------------------


def env_lines(run_dir: Path, state: State) -> list[str]:
    """``KEY=VALUE`` lines describing a stack, for ``eval "$(scripts/stack env)"``."""
    run_dir = run_dir.resolve()
    ports = layout.ports_for_block(state.block)
    lines = [
        f"GAVEL_STACK_DIR={run_dir}",
        f"{endpoints.REGIONS}={','.join(state.regions)}",
        *components_issuer.token_env(run_dir),
    ]
    for region in state.regions:
        rp, key = ports.regions[region], layout.env_key(region)
        if "redis" in state.kinds:
            sentinels = [("127.0.0.1", port) for port in rp.sentinels]
            service = redis_replication.service_name(region)
            url = redis_url.sentinel_url(sentinels, service, 0)
            lines.append(f"{endpoints.redis_url_var(region)}={url}")
        if "kafka" in state.kinds or "mirror" in state.kinds:
            lines.append(f"{endpoints.kafka_bootstrap_var(region)}=127.0.0.1:{rp.kafka}")
        if "k8s" in state.kinds:
            lines.append(f"KUBECONFIG_{key}={components.kubeconfig_path(run_dir, region)}")
    if "kafka" in state.kinds or "mirror" in state.kinds:
        lines += kafka_security.env_lines(run_dir)
    if "redis" in state.kinds:
        lines += redis_auth.env_lines(run_dir)
    if "k8s" in state.kinds:
        lines.append(f"KUBECONFIG_HUB={components.kubeconfig_path(run_dir, layout.HUB)}")
    if "cassandra" in state.kinds:
        lines.append(f"{endpoints.CASSANDRA_CONTACT}=127.0.0.1:{ports.cassandra_native}")
        lines.append(f"{endpoints.CASSANDRA_DC}={cassandra_security.DC}")
        lines += cassandra_security.env_lines(run_dir)
    return lines
