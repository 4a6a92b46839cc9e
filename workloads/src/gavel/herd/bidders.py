"""The herd's bidders: REST and bidder-WebSocket clients of a region's gateway, and the loop
that makes each one bid like a person at a launch.

Started by :mod:`gavel.herd.crew`, one task per bidder. A bidder waits for the open, bids once
within the burst, then at its steady rate (a multiple of it inside the soft-close window):
closed loop (:meth:`Bidder.run`: the next bid after the answer to the last), or open loop
(:meth:`Bidder.run_open`: every bid on its own schedule, several in flight, each timed from
when it was due, so a slow answer or a late client shows in the latency). It always offers
about the minimum next bid the herd last heard of (:class:`Market`); now and then it sends a
bid again with the same ``bid_id``, and a greedy bidder once fires a volley past its rate
limit. Every answer is recorded as an :class:`~gavel.herd.records.Answer`; a bid that got no
answer (the socket broke, a timeout) is only counted: it may or may not have been decided.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from gavel.herd.http1 import Connection, HttpError
from gavel.herd.latency import Histogram
from gavel.herd.records import Answer, Channel
from gavel.herd.series import Series
from gavel.herd.shape import (
    GREEDY_VOLLEY,
    BidderSpec,
    Profile,
    Timeline,
    next_amount,
    send_times,
)

CLOSED_REASONS = frozenset({"closed", "cancelled"})
REST_CONNECTIONS = 8
"""Keep-alive connections one REST bidder opens at most (requests beyond wait for one)."""
WS_IN_FLIGHT = 64
"""Bids one bidder WebSocket has unanswered at most: the gateway's own limit per socket
(``MAX_BIDS_IN_FLIGHT_PER_SOCKET`` in gavel.gateway.app)."""


@dataclass
class Market:
    """What the herd's bidders know of the drop: the highest minimum next bid and the latest
    end any answer showed (a real bidder would watch the price; this is cheaper)."""

    min_next: int
    ends_at_ms: int
    closed: bool = False

    def learn(self, body: dict[str, Any]) -> None:
        min_next, ends = body.get("min_next"), body.get("ends_at_ms")
        if isinstance(min_next, int):
            self.min_next = max(self.min_next, min_next)
        if isinstance(ends, int):
            self.ends_at_ms = max(self.ends_at_ms, ends)
        if body.get("reason") in CLOSED_REASONS or body.get("code") in CLOSED_REASONS:
            self.closed = True


@dataclass
class Tally:
    """Everything the bidders produced: answers, and bids that got none; per second of the
    herd's ``clock``, answers by outcome (``answers/accepted``, ``answers/<reason>``); and
    acknowledgement latency per region."""

    clock: Callable[[], float] = time.monotonic
    answers: list[Answer] = field(default_factory=list)
    unanswered: int = 0
    series: Series = field(default_factory=Series)
    ack: dict[str, Histogram] = field(default_factory=dict)

    def record(self, answer: Answer) -> None:
        self.answers.append(answer)
        label = "duplicate" if answer.duplicate else answer.reason or answer.outcome or "other"
        self.series.add(f"answers/{label}", int(self.clock()))
        self.ack.setdefault(answer.region, Histogram()).add(answer.ack_ms)

    def lost(self) -> None:
        self.unanswered += 1
        self.series.add("answers/unanswered", int(self.clock()))


class Sender(Protocol):
    channel: Channel

    async def send(self, bid_id: str, amount: int) -> tuple[int, dict[str, Any]]: ...

    async def close(self) -> None: ...


class RestSender:
    """``POST /v1/drops/{drop}/bids`` on keep-alive connections: one for a bidder that bids one
    at a time, more (up to :data:`REST_CONNECTIONS`) while several bids are in flight."""

    channel = Channel.REST

    def __init__(self, gateway: str, drop: str, token: str) -> None:
        self.gateway = gateway
        self.idle: list[Connection] = []
        self.path = f"/v1/drops/{drop}/bids"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.slots = asyncio.Semaphore(REST_CONNECTIONS)

    async def send(self, bid_id: str, amount: int) -> tuple[int, dict[str, Any]]:
        async with self.slots:
            conn = self.idle.pop() if self.idle else Connection(self.gateway)
            try:
                status, body = await conn.request(
                    "POST", self.path, {"bid_id": bid_id, "amount": amount}, self.headers
                )
            finally:
                self.idle.append(conn)
        return status, body if isinstance(body, dict) else {}

    async def close(self) -> None:
        for conn in self.idle:
            conn.close()


class WebSocketSender:
    """The bidder WebSocket: bids out, ``result`` messages matched back by ``bid_id`` (outbid
    pushes are read and dropped)."""

    channel = Channel.WEBSOCKET

    def __init__(self, gateway: str, drop: str, token: str) -> None:
        self.url = gateway.replace("http", "ws", 1) + f"/v1/drops/{drop}/bidder"
        self.token = token
        self.ws: ClientConnection | None = None
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.reader: asyncio.Task[None] | None = None
        self.opening = asyncio.Lock()
        self.slots = asyncio.Semaphore(WS_IN_FLIGHT)

    async def _open(self) -> ClientConnection:
        async with self.opening:  # bids in flight at once share one socket
            if self.ws is None:
                self.ws = await connect(
                    self.url,
                    additional_headers={"Authorization": f"Bearer {self.token}"},
                    compression=None,
                )
                self.reader = asyncio.create_task(self._read(self.ws))
            return self.ws

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                msg = json.loads(raw)
                waiter = self.pending.pop(str(msg.get("bid_id")), None)
                if msg.get("type") == "result" and waiter is not None and not waiter.done():
                    waiter.set_result(msg)
        except WebSocketException:
            pass
        finally:
            self.ws = None
            for waiter in self.pending.values():
                if not waiter.done():
                    waiter.set_exception(ConnectionError("bidder socket closed"))
            self.pending.clear()

    async def send(self, bid_id: str, amount: int) -> tuple[int, dict[str, Any]]:
        async with self.slots:
            try:
                ws = await self._open()
                waiter = asyncio.get_running_loop().create_future()
                self.pending[bid_id] = waiter
                await ws.send(json.dumps({"bid_id": bid_id, "amount": amount}))
                return 0, await asyncio.wait_for(waiter, 10)
            except (WebSocketException, TimeoutError) as exc:
                self.pending.pop(bid_id, None)
                raise ConnectionError(f"bid {bid_id}: {exc!r}") from exc

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader


@dataclass
class Bidder:
    spec: BidderSpec
    sender: Sender
    market: Market
    tally: Tally
    rng: random.Random
    sent: int = 0

    async def bid(self, bid_id: str, amount: int, late_s: float = 0.0) -> dict[str, Any] | None:
        """Send one bid and record its answer; ``late_s``: how long ago it was due (counted
        into its latency)."""
        sent_ms, t0 = (time.time() - late_s) * 1000, time.perf_counter() - late_s
        try:
            status, body = await self.sender.send(bid_id, amount)
        except (HttpError, ConnectionError, OSError):
            self.tally.lost()
            return None
        ack_ms = (time.perf_counter() - t0) * 1000
        self.tally.record(
            Answer.from_body(
                body,
                region=self.spec.region,
                channel=self.sender.channel,
                bidder=self.spec.name,
                bid_id=bid_id,
                amount=amount,
                status=status,
                sent_ms=sent_ms,
                ack_ms=ack_ms,
            )
        )
        self.market.learn(body)
        return body

    async def one(self, profile: Profile, late_s: float = 0.0) -> None:
        self.sent += 1
        bid_id, amount = (
            f"{self.spec.name}-{self.sent}",
            next_amount(self.market.min_next, self.rng),
        )
        body = await self.bid(bid_id, amount, late_s)
        if body is not None and self.rng.random() < profile.retry_fraction:
            await self.bid(bid_id, amount)  # same bid_id: must come back as the first answer

    async def volley(self) -> None:
        """Fire :data:`GREEDY_VOLLEY` bids at once: the gateway must limit some."""
        first, self.sent = self.sent + 1, self.sent + GREEDY_VOLLEY
        await asyncio.gather(
            *(
                self.bid(f"{self.spec.name}-{n}", self.market.min_next)
                for n in range(first, self.sent + 1)
            )
        )

    async def run(self, timeline: Timeline, profile: Profile, clock: Callable[[], float]) -> None:
        """Bid from the open until the drop closed (or its hard stop passed)."""
        try:
            await asyncio.sleep(
                max(0.0, timeline.opens_s - clock()) + self.rng.uniform(0, profile.burst_spread_s)
            )
            await self.one(profile)
            volley_at = self.rng.uniform(timeline.opens_s, timeline.ends_s - timeline.soft_window_s)
            while not self.market.closed and clock() < timeline.hard_stop_s:
                factor = timeline.rate_factor(clock(), profile)
                if factor == 0:
                    return  # past the planned end: the snipes that extended it are in
                await asyncio.sleep(self.rng.expovariate(profile.rate_per_bidder * factor))
                if self.spec.greedy and clock() >= volley_at:
                    volley_at = float("inf")
                    await self.volley()
                else:
                    await self.one(profile)
        finally:
            await self.sender.close()

    async def run_open(
        self, timeline: Timeline, profile: Profile, clock: Callable[[], float]
    ) -> None:
        """Bid on the schedule :func:`~gavel.herd.shape.send_times` draws, without waiting for
        answers, until the planned end (or until an answer said the drop closed); then wait
        for the bids still in flight."""
        schedule = send_times(timeline, profile, random.Random(self.rng.random()))
        volley_at = (
            self.rng.uniform(timeline.opens_s, timeline.ends_s - timeline.soft_window_s)
            if self.spec.greedy
            else float("inf")
        )
        flying: set[asyncio.Task[None]] = set()
        try:
            for due in schedule:
                await asyncio.sleep(max(0.0, due - clock()))
                if self.market.closed:
                    break
                if due >= volley_at:
                    volley_at = float("inf")
                    job = self.volley()
                else:
                    job = self.one(profile, late_s=max(0.0, clock() - due))
                task = asyncio.create_task(job)
                flying.add(task)
                task.add_done_callback(flying.discard)
            await asyncio.gather(*flying)
        finally:
            await self.sender.close()
