"""A TCP forwarder to a real server, to cut a client off from it and let it back, on demand.

Tests point a process at the proxy's port instead of the server's. Two ways to cut:

- :meth:`TcpProxy.stop` closes the listening socket (new connections are refused, as when the
  server is down) and aborts every open connection (resets, as when the server dies);
  :meth:`TcpProxy.start` listens again on the same port.
- :meth:`TcpProxy.partition` is a network partition: nothing is refused or reset, bytes simply
  stop arriving in both directions (open connections hang; a new one is accepted but never
  reaches the server), so each side learns of the cut only by its own timeouts, as on a real
  network. A close on one side is held too: the other side must not learn anything.
  :meth:`TcpProxy.heal` lets everything held through, as TCP's retransmissions would.

Bytes pass through untouched: the server behind it is the real one.
"""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    def __init__(self, listen_port: int, upstream_host: str, upstream_port: int) -> None:
        self.port = listen_port
        self.upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.connections = 0

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def partitioned(self) -> bool:
        return not self._flowing.is_set()

    async def start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    def partition(self) -> None:
        """Stop every byte (and every close) from crossing, without telling either side."""
        self._flowing.clear()

    def heal(self) -> None:
        self._flowing.set()

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._flowing.set()  # wakes connections held by a partition: they were aborted above
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), timeout=2)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            await self._flowing.wait()  # across a partition the server never hears of it
            if writer.transport.is_closing():
                return
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            self._writers.discard(writer)
            writer.transport.abort()
            return
        self.connections += 1
        self._writers.add(up_writer)
        pipes = [
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ]
        self._tasks.update(pipes)
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pipes:
                task.cancel()
                self._tasks.discard(task)
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                try:
                    data = await reader.read(65536)
                except ConnectionError:
                    data = b""
                # Held here while partitioned: the data, or the end of the stream.
                await self._flowing.wait()
                if not data:
                    return
                writer.write(data)
                await writer.drain()
