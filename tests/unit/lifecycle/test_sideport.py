from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CONTENT_TYPE_LATEST

from gavel.lifecycle.sideport import Request, Response, parse_request, probe, start_server, text


def metrics() -> bytes:
    return b"m 1\n"


@pytest.mark.parametrize(
    ("path", "missing", "status", "body"),
    [
        ("/healthz", ["redis"], 200, b"ok\n"),
        ("/readyz", [], 200, b"ready\n"),
        ("/readyz", ["redis", "kafka"], 503, b"not ready: redis, kafka\n"),
        ("/metrics", ["kafka"], 200, b"m 1\n"),
    ],
)
def test_probes(path: str, missing: list[str], status: int, body: bytes) -> None:
    response = probe(path, missing, metrics)
    assert response is not None
    assert (response.status, response.body) == (status, body)


def test_metrics_in_the_prometheus_content_type() -> None:
    response = probe("/metrics", [], metrics)
    assert response is not None
    assert response.content_type == CONTENT_TYPE_LATEST


def test_other_paths_are_left_to_the_workload() -> None:
    assert probe("/v1/audit/drops/d", [], metrics) is None
    assert probe("/healthz/", [], metrics) is None


def test_request_lines() -> None:
    assert parse_request(b"GET /readyz?x=1&y HTTP/1.1\r\n") == Request(
        "GET", "/readyz", {"x": ["1"], "y": [""]}
    )
    assert parse_request(b"GET /readyz\r\n") is None
    assert parse_request(b"hello there you\r\n") is None


async def exchange(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    return answer


async def test_serves_the_handlers_answers_one_per_connection() -> None:
    async def handler(request: Request) -> Response:
        return text(200, f"{request.method} {request.path}\n")

    server = await start_server("127.0.0.1", 0, handler)
    port = server.sockets[0].getsockname()[1]
    try:
        got = await exchange(port, b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        assert got.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"Connection: close\r\n" in got
        assert got.endswith(b"\r\n\r\nGET /x\n")
        head = await exchange(port, b"HEAD /x HTTP/1.1\r\n\r\n")
        assert head.endswith(b"Content-Length: 8\r\nConnection: close\r\n\r\n")  # "HEAD /x\n"
        bad = await exchange(port, b"nonsense\r\n\r\n")
        assert bad.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    finally:
        server.close()
        await server.wait_closed()


async def test_a_taken_port_raises() -> None:
    async def handler(request: Request) -> Response:
        return text(200, "ok\n")

    server = await start_server("127.0.0.1", 0, handler)
    try:
        with pytest.raises(OSError, match="in use"):
            await start_server("127.0.0.1", server.sockets[0].getsockname()[1], handler)
    finally:
        server.close()
        await server.wait_closed()
