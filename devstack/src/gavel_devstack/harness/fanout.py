"""Run ``gavel fanout`` as a real process and observe it like a client would."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import websockets

from gavel.auction import Decision, Outcome, Reason
from gavel.events import PriceEvent
from gavel_devstack.harness.processes import free_port, wait_ready
from gavel_devstack.harness.waiting import wait_for


def price_event(
    drop: str, seq: int, *, base: int = 1_000, decided_ms: int | None = None
) -> PriceEvent:
    """The price message of accepted bid number ``seq``: high bid ``base + seq``, the next
    minimum 100 above, ending ten minutes after it was decided (now, unless given)."""
    now = int(time.time() * 1000) if decided_ms is None else decided_ms
    decision = Decision(
        outcome=Outcome.ACCEPTED,
        reason=Reason.ACCEPTED,
        seq=seq,
        high_bid=base + seq,
        leader=None,
        prev_leader=None,
        min_next=base + seq + 100,
        ends_at_ms=now + 600_000,
        reserve_met=False,
        decided_ms=now,
    )
    return PriceEvent(f"e-{drop}-{seq}", drop, f"bidder-{seq % 7}", decision)


@contextmanager
def running_fanout(env: dict[str, str], region: str, *extra: str) -> Iterator[str]:
    """Start a fan-out for ``region``, wait for /readyz, yield its ws:// base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gavel", "fanout", "--region", region, "--port", str(port), *extra],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", proc, what="fanout")
        yield f"ws://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class Observer:
    """Collects every message of one observer socket and checks the sequence as it goes."""

    url: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    received_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seq: int = 0

    async def run(self, until_seq: int | Callable[[], int], timeout_s: float) -> None:
        """Read until ``seq`` reaches ``until_seq`` (a number, or a function asked each time,
        for a target known only later) or the timeout passes."""
        target = until_seq if callable(until_seq) else (lambda: until_seq)
        async with websockets.connect(self.url, max_size=2**20) as ws:
            deadline = time.monotonic() + timeout_s
            while self.seq < target() and time.monotonic() < deadline:
                # Never wait long for one message: a target known only later may be reached
                # already, and cancelling recv() loses nothing.
                remaining = deadline - time.monotonic()
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=min(0.5, remaining))
                except TimeoutError:
                    continue
                self.take(json.loads(raw))

    def take(self, msg: dict[str, Any]) -> None:
        self.messages.append(msg)
        self.received_ms.append(time.time() * 1000)
        if msg["type"] == "price":
            if msg["seq"] != self.seq + 1:
                self.errors.append(f"price {msg['seq']} after {self.seq}")
            self.seq = msg["seq"]
        elif msg["type"] == "snapshot":
            if msg["seq"] < self.seq:
                self.errors.append(f"snapshot {msg['seq']} went back from {self.seq}")
            self.seq = msg["seq"]


async def until_subscribed(observers: Iterable[Observer], timeout_s: float = 30) -> None:
    """Wait until every observer has its first message, the snapshot: from then on its
    fan-out sends it every price (one that connected later would start from a later snapshot)."""
    waiting = list(observers)

    async def all_subscribed() -> bool:
        return all(o.messages for o in waiting)

    await wait_for(all_subscribed, timeout_s, f"a snapshot on each of {len(waiting)} observers")
