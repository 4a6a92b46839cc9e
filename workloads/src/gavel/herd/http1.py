"""A minimal keep-alive HTTP/1.1 client for the herd's REST bidders: one connection, one
request at a time, JSON in and out.

Used by :mod:`gavel.herd.bidders` and :mod:`gavel.herd.stores`. The product carries no HTTP
client library, and a load client wants the cheapest request it can make: a bidder writes
one request and reads a status line, headers and a ``Content-Length`` body (what the gateway's
server always sends). Anything else (a chunked body, a broken connection) raises
:class:`HttpError`, and the next request opens a fresh connection.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

MAX_BODY = 1 << 20


class HttpError(OSError):
    """The request got no well-formed answer (the attempt may or may not have been decided)."""


class Connection:
    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"not an http:// URL: {base_url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout_s = timeout_s
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """``(status, parsed JSON body or None)``; raises :class:`HttpError`."""
        try:
            return await asyncio.wait_for(
                self._exchange(method, path, body, headers or {}), self.timeout_s
            )
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            self.close()
            raise HttpError(f"{method} {path}: {exc!r}") from exc

    async def _exchange(
        self, method: str, path: str, body: Any, headers: dict[str, str]
    ) -> tuple[int, Any]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            head.append("Content-Type: application/json")
        head.append(f"Content-Length: {len(payload)}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        status_line = await reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length, close = 0, False
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                raise ValueError("chunked answers are not supported")
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        if length > MAX_BODY:
            raise ValueError(f"answer of {length} bytes")
        raw = await reader.readexactly(length)
        if close:
            self.close()
        return status, json.loads(raw) if raw else None

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None
