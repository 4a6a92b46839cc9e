"""The drop page on the local stack: a gateway, a relay, a fan-out serving the page and the
demo login, as real processes; and a drop to show. For the page's browser tests and
``scripts/screens``.

Ports are chosen before anything starts, so each process is told the others' addresses: the
fan-out sends bids to the gateway (``--gateway-url``) and offers the demo login, the gateway and
the login accept the fan-out's origin (CORS). The fan-out keeps its port across
:meth:`PageStack.restart_fanout`, as a replica behind a Service would.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from gavel import drops, endpoints, token_client
from gavel.auction import IncrementStep, Rules
from gavel.drop_rules import Listing
from gavel.redis_acl import Role
from gavel_devstack.harness.processes import free_port, start_logged, stop_process, wait_ready

GAVEL = (sys.executable, "-m", "gavel")


@dataclass
class PageStack:
    env: dict[str, str]
    region: str
    log_dir: Path
    gateway_port: int = field(default_factory=free_port)
    fanout_port: int = field(default_factory=free_port)
    login_port: int = field(default_factory=free_port)
    relay_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def fanout(self) -> str:
        return f"http://127.0.0.1:{self.fanout_port}"

    @property
    def login(self) -> str:
        return f"http://127.0.0.1:{self.login_port}/token"

    def page(self, drop: str) -> str:
        return f"{self.fanout}/drops/{drop}"

    def _start(self, name: str, args: list[str], probe: str) -> None:
        proc = start_logged(args, self.log_dir / f"{name}.log", self.env)
        self.procs[name] = proc
        wait_ready(probe, proc, timeout_s=90, what=f"{name} (log {self.log_dir}/{name}.log)")

    def start_fanout(self) -> None:
        self._start(
            "fanout",
            [
                *GAVEL,
                "fanout",
                "--region",
                self.region,
                "--port",
                str(self.fanout_port),
                "--gateway-url",
                f"{self.region}={self.gateway}",
                "--demo-login-url",
                self.login,
            ],
            f"{self.fanout}/readyz",
        )

    def stop_fanout(self) -> None:
        stop_process(self.procs.pop("fanout"), timeout_s=15)

    def restart_fanout(self) -> None:
        self.stop_fanout()
        self.start_fanout()

    def start(self) -> None:
        outbox = str(self.log_dir / "outbox")
        origin = ["--allow-origin", self.fanout]
        port = ["--region", self.region, "--port"]
        self._start(
            "gateway",
            [*GAVEL, "gateway", *port, str(self.gateway_port), "--outbox-dir", outbox, *origin],
            f"{self.gateway}/readyz",
        )
        self._start(
            "relay",
            [*GAVEL, "relay", *port, str(self.relay_port), "--outbox-dir", outbox],
            f"http://127.0.0.1:{self.relay_port}/readyz",
        )
        self._start(
            "demo-login",
            [
                sys.executable,
                "-m",
                "gavel_devstack.demo_login",
                "--port",
                str(self.login_port),
                *origin,
            ],
            f"http://127.0.0.1:{self.login_port}/healthz",
        )
        self.start_fanout()

    def stop(self) -> None:
        for proc in self.procs.values():
            stop_process(proc, timeout_s=15)
        self.procs.clear()

    def open_drop(
        self,
        title: str = "Rolex Cosmograph Daytona 6239 (1963)",
        *,
        name: str | None = None,
        minutes: int = 60,
    ) -> Rules:
        """A drop homed here, open since a minute ago, ending in ``minutes``, with a title."""
        now = int(time.time() * 1000)
        rules = Rules(
            drop_id=name or f"page-{uuid.uuid4().hex[:8]}",
            home_region=self.region,
            currency="EUR",
            start_price=100_000,
            reserve=250_000,
            increments=(IncrementStep(0, 1_000), IncrementStep(1_000_000, 10_000)),
            opens_at_ms=now - 60_000,
            ends_at_ms=now + minutes * 60_000,
            soft_window_ms=60_000,
            soft_extension_ms=60_000,
        )
        urls = {self.region: endpoints.redis_url(self.region, self.env, role=Role.OPERATOR)}
        asyncio.run(drops.open_everywhere(rules, urls, Listing(title, "DAYTONA-6239-1963")))
        return rules

    def bid(self, drop: str, bidder: str, amount: int) -> httpx.Response:
        """One bid through the gateway, as a client would send it."""
        token = token_client.mint(endpoints.token_mint_url(self.env), [bidder])[0]
        return httpx.post(
            f"{self.gateway}/v1/drops/{drop}/bids",
            headers={"Authorization": f"Bearer {token}"},
            json={"bid_id": uuid.uuid4().hex, "amount": amount},
            timeout=10,
        )


@contextmanager
def running_page_stack(env: dict[str, str], region: str, log_dir: Path) -> Iterator[PageStack]:
    log_dir.mkdir(parents=True, exist_ok=True)
    stack = PageStack(env, region, log_dir)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
