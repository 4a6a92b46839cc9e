from __future__ import annotations

import pytest

from gavel.relay.metrics import Health, RelayMetrics
from gavel.relay.web import respond


def metrics_body() -> bytes:
    return b"# metrics\n"


@pytest.mark.parametrize(
    ("redis_ok", "kafka_started", "status", "body"),
    [
        (True, True, 200, b"ready\n"),
        (False, True, 503, b"not ready: redis\n"),
        (True, False, 503, b"not ready: kafka\n"),
        (False, False, 503, b"not ready: redis, kafka\n"),
    ],
)
def test_ready_only_with_redis_and_a_started_producer(
    redis_ok: bool, kafka_started: bool, status: int, body: bytes
) -> None:
    r = respond(b"GET /readyz HTTP/1.1\r\n", Health(redis_ok, kafka_started), metrics_body)
    assert (r.status, r.body) == (status, body)


def test_healthy_whenever_it_answers() -> None:
    r = respond(b"GET /healthz HTTP/1.1\r\n", Health(), metrics_body)
    assert (r.status, r.body) == (200, b"ok\n")


def test_metrics_in_the_prometheus_text_format() -> None:
    m = RelayMetrics()
    m.records.labels("gavel.audit").inc(3)
    r = respond(b"GET /metrics?x=1 HTTP/1.1\r\n", Health(), m.render)
    assert r.status == 200
    assert r.content_type.startswith("text/plain")
    assert b'gavel_relay_records_total{topic="gavel.audit"} 3.0' in r.body


def test_two_relays_in_one_process_have_separate_registries() -> None:
    a, b = RelayMetrics(), RelayMetrics()
    a.batches.labels("stream").inc()
    assert b'gavel_relay_batches_total{source="stream"} 1.0' in a.render()
    assert b'gavel_relay_batches_total{source="stream"}' not in b.render()


@pytest.mark.parametrize(
    ("line", "status"),
    [
        (b"GET /other HTTP/1.1\r\n", 404),
        (b"POST /readyz HTTP/1.1\r\n", 405),
        (b"GET\r\n", 400),
        (b"", 400),
        (b"GET /healthz SMTP\r\n", 400),
    ],
)
def test_everything_else_is_refused(line: bytes, status: int) -> None:
    assert respond(line, Health(True, True), metrics_body).status == status


def test_head_gets_the_headers_only() -> None:
    r = respond(b"HEAD /healthz HTTP/1.1\r\n", Health(), metrics_body)
    assert r.encode(head_only=True).endswith(b"Content-Length: 3\r\nConnection: close\r\n\r\n")
    assert r.encode().endswith(b"\r\n\r\nok\n")
