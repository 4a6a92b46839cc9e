"""ASGI guard that refuses HTTP bodies over a size limit before they are read into memory.

Sits outermost in the gateway's middleware stack. A declared ``Content-Length`` over the limit
is refused at once; a chunked body is counted as it streams and cut off when it passes the limit.
WebSocket frames are limited by the server (``ws_max_size``), not here.
"""

from __future__ import annotations

from typing import Any

from gavel.gateway.problems import PROBLEM_JSON, problem

Scope = dict[str, Any]
Message = dict[str, Any]


DRAIN_LIMIT = 1 << 20
"""Most of a refused body we read before answering; past it we answer and close."""


class BodyTooLargeError(Exception):
    pass


class BodySizeLimit:
    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(receive, send)
            return
        seen = 0
        finished = False

        async def counting_receive() -> Message:
            nonlocal seen, finished
            message: Message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                finished = not message.get("more_body", False)
                if seen > self.max_bytes:
                    raise BodyTooLargeError
            return message

        try:
            await self.app(scope, counting_receive, send)
        except BodyTooLargeError:
            await self._refuse(receive if not finished else None, send)

    async def _refuse(self, receive: Any, send: Any) -> None:
        # Read (and drop) a moderately sized rest of the body first: answering while the client
        # is still sending makes its kernel see a reset instead of our 413.
        drained = 0
        while receive is not None and drained < DRAIN_LIMIT:
            message: Message = await receive()
            if message["type"] != "http.request":
                break
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
        await self._send_problem(send)

    async def _send_problem(self, send: Any) -> None:
        p = problem("payload_too_large", f"the limit is {self.max_bytes} bytes")
        body = p.body()
        await send(
            {
                "type": "http.response.start",
                "status": p.status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
