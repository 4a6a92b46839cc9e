"""One pipelined connection to a region's Redis primary: the I/O half of automatic pipelining.

:class:`gavel.gateway.pipelining.Pipeline` decides what goes out together and whose reply is
whose; this module only connects, writes each loop turn's batch with one ``transport.write``,
feeds what arrives to hiredis' reply parser, and settles the callers' futures. Used by
:mod:`gavel.gateway.replicated` for every bid the gateway sends to a home region.

Failure rules: a lost connection, a reply stream that makes no progress for ``timeout_s``, or a
failed connect fails every caller waiting on the connection with :class:`PipeBrokenError` (an
``OSError``, so the service's "Redis unreachable" path takes it); nobody is left hanging. The
next call connects again, asking the locator (Sentinel) where the primary is now.

While a batch that ends with ``WAIT`` is in flight, the next batch is held back: Redis would not
run it before the ``WAIT`` returns anyway (a client blocked in ``WAIT`` is not served), and
holding it lets the bids arriving meanwhile share the next ``WAIT``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import cast

import hiredis

from gavel import redis_client
from gavel.gateway.pipelining import Arg, Batch, Pipeline, ProtocolDesyncError, encode
from gavel.redis_client import Endpoint

Answer = tuple[object, object]
"""A command's reply and its batch's trailer reply (None when the batch had no trailer)."""
Waiter = asyncio.Future[Answer]


class PipeBrokenError(ConnectionError):
    """The connection to Redis failed; whether the waiting commands ran is unknown."""


class _Protocol(asyncio.Protocol):
    def __init__(self, pipe: RedisPipe) -> None:
        self._pipe = pipe
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but have its interface.
        self.transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        self._pipe._on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._pipe._on_lost(self, exc)


class RedisPipe:
    """Commands from any number of coroutines, multiplexed on one connection in order."""

    def __init__(
        self,
        locate: Callable[[], Awaitable[Endpoint]],
        *,
        timeout_s: float,
        trailer: Callable[[], Sequence[Arg]] | None = None,
        name: str = "gavel-gateway",
        max_batch: int = 512,
    ) -> None:
        self._locate = locate
        self._timeout_s = timeout_s
        self._trailer = trailer
        self._name = name
        self._pipeline: Pipeline[Waiter] = Pipeline(max_batch)
        self._transport: asyncio.Transport | None = None
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._reader = hiredis.Reader()
        self._flush_scheduled = False
        self._last_progress = 0.0
        self._watchdog: asyncio.TimerHandle | None = None
        self.on_batch: Callable[[int], None] = lambda _size: None
        """Called with each written batch's size (the gateway's histogram)."""
        self.greeting: tuple[Sequence[Arg], Callable[[object], None]] | None = None
        """A command sent first on every new connection, right after the handshake, and what
        to call with its reply: :mod:`gavel.gateway.replicated` learns which node it reached
        before any bid's answer on that connection is settled."""

    async def call(self, args: Sequence[Arg], *, replicate: bool = False) -> Answer:
        """Send one command with the others of this loop turn; its reply (an error reply is
        returned as a ``hiredis.ReplyError`` value, not raised) and its batch's trailer reply.

        ``replicate``: the batch carrying it ends with the trailer (``WAIT``), and the answer
        comes once that returned. Raises :class:`PipeBrokenError` if the connection fails.
        """
        loop = asyncio.get_running_loop()
        waiter: Waiter = loop.create_future()
        if self._pipeline.submit(encode(args), waiter, replicate=replicate):
            self._schedule_flush(loop)
        return await waiter

    def reset(self) -> None:
        """Drop the connection (e.g. it reached a former primary); the next call reconnects."""
        if self._transport is not None:
            self._transport.abort()

    async def close(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await self._connecting
        if self._transport is not None:
            self._transport.abort()
        self._fail_all(PipeBrokenError("the gateway is shutting down"))

    # -- writing -------------------------------------------------------------------------

    def _schedule_flush(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._transport is None:
            if self._connecting is None:
                self._connecting = loop.create_task(self._connect())
            return
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        transport = self._transport
        if transport is None or self._pipeline.trailers_in_flight:
            return  # flushed once connected, or once the WAIT in flight has returned
        if not self._pipeline.in_flight:
            self._last_progress = asyncio.get_running_loop().time()
        trailer = encode(self._trailer()) if self._trailer is not None else None
        while self._pipeline.queued and not self._pipeline.trailers_in_flight:
            before = self._pipeline.queued
            transport.write(self._pipeline.take(trailer))
            self.on_batch(before - self._pipeline.queued)
        self._arm_watchdog()

    # -- reading -------------------------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        self._last_progress = asyncio.get_running_loop().time()
        self._reader.feed(data)
        try:
            while (reply := self._reader.gets()) is not False:
                batch = self._pipeline.answer(reply)
                if batch is not None:
                    self._settle(batch)
        except (ProtocolDesyncError, hiredis.ProtocolError) as exc:
            if self._transport is not None:
                self._transport.abort()
            self._fail_all(PipeBrokenError(f"Redis reply stream broken: {exc}"))
            return
        if self._pipeline.queued and not self._pipeline.trailers_in_flight:
            self._flush()

    @staticmethod
    def _settle(batch: Batch[Waiter]) -> None:
        for waiter, reply in zip(batch.waiters, batch.replies, strict=True):
            if not waiter.done():  # its caller may have gone (client disconnected)
                waiter.set_result((reply, batch.trailer_reply))

    # -- connection lifecycle ------------------------------------------------------------

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout_s):
                endpoint = await self._locate()
                tls = redis_client.ssl_context(endpoint.ca_file) if endpoint.tls else None
                _, protocol = await loop.create_connection(
                    lambda: _Protocol(self), endpoint.host, endpoint.port, ssl=tls
                )
        except (OSError, TimeoutError, ConnectionError) as exc:
            self._connecting = None
            self._fail_all(PipeBrokenError(f"cannot connect to Redis: {exc!r}"))
            return
        except Exception as exc:  # noqa: BLE001 - Sentinel errors too: nobody may be left waiting
            self._connecting = None
            self._fail_all(PipeBrokenError(f"cannot find the Redis primary: {exc!r}"))
            return
        self._connecting = None
        self._protocol = protocol
        self._transport = protocol.transport
        self._reader = hiredis.Reader()
        if self.greeting is not None:
            command, on_reply = self.greeting
            greeted: Waiter = loop.create_future()
            # Scheduled as soon as the reply is settled, so it runs before the callers waiting
            # on later replies of the same read resume.
            greeted.add_done_callback(
                lambda f: f.cancelled() or f.exception() or on_reply(f.result()[0])
            )
            self._pipeline.submit_first(encode(command), greeted)
        for command in reversed(_handshake(endpoint, self._name)):
            self._pipeline.submit_first(encode(command), loop.create_future())
        self._flush()

    def _on_lost(self, protocol: _Protocol, exc: Exception | None) -> None:
        if protocol is not self._protocol:
            return
        self._transport = None
        self._protocol = None
        self._fail_all(PipeBrokenError(f"Redis connection lost: {exc!r}"))

    def _fail_all(self, exc: Exception) -> None:
        for waiter in self._pipeline.fail_all():
            if not waiter.done():
                waiter.set_exception(exc)
                waiter.exception()  # handshake waiters have no reader: mark it retrieved

    def _arm_watchdog(self) -> None:
        if self._watchdog is None and self._pipeline.in_flight:
            self._watchdog = asyncio.get_running_loop().call_later(self._timeout_s, self._check)

    def _check(self) -> None:
        """No reply for ``timeout_s`` while commands are in flight: the connection is dead."""
        self._watchdog = None
        if not self._pipeline.in_flight or self._transport is None:
            return
        loop = asyncio.get_running_loop()
        idle = loop.time() - self._last_progress
        if idle >= self._timeout_s:
            transport, self._transport, self._protocol = self._transport, None, None
            transport.abort()
            self._fail_all(PipeBrokenError(f"no reply from Redis for {idle:.2f} s"))
            return
        self._watchdog = loop.call_later(self._timeout_s - idle, self._check)


def _handshake(endpoint: Endpoint, name: str) -> list[list[Arg]]:
    commands: list[list[Arg]] = []
    if endpoint.password is not None:
        user = [endpoint.username] if endpoint.username else []
        commands.append(["AUTH", *user, endpoint.password])
    if endpoint.db:
        commands.append(["SELECT", endpoint.db])
    commands.append(["CLIENT", "SETNAME", name])
    return commands
