from __future__ import annotations

import json

import pytest

from gavel.auction import Outcome
from gavel.audit.metrics import Health
from gavel.audit.reading import Cursor, Page, QueryError
from gavel.audit.rows import attempt_from_event
from gavel.audit.web import Api, answer, page_json, parse_audit_query
from gavel.lifecycle.sideport import parse_request
from tests.unit.audit.test_rows import EVENT


def api(ready: bool = True) -> Api:
    return Api(health=Health(cassandra_ok=ready, kafka_ok=ready), render_metrics=lambda: b"m 1\n")


def test_request_lines() -> None:
    request = parse_request(b"GET /v1/audit/drops/d1?bidder=alice&limit=5 HTTP/1.1\r\n")
    assert request is not None
    assert (request.method, request.path) == ("GET", "/v1/audit/drops/d1")
    assert request.query == {"bidder": ["alice"], "limit": ["5"]}
    assert parse_request(b"nonsense\r\n") is None
    assert parse_request(b"GET / FTP/1\r\n") is None


def test_audit_query_parsing() -> None:
    token = Cursor(60_000, 60_001, "e").token()
    request = parse_request(
        f"GET /v1/audit/drops/d%2D1?outcome=rejected&page_token={token}&limit=7 HTTP/1.1".encode()
    )
    assert request is not None
    query = parse_audit_query(request)
    assert query.drop == "d-1"
    assert query.filters.outcome is Outcome.REJECTED
    assert query.filters.bidder is None
    assert query.cursor == Cursor(60_000, 60_001, "e")
    assert query.limit == 7


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("/v1/audit/drops/", "the path"),
        ("/v1/audit/drops/a/b", "the path"),
        ("/v1/audit/drops/d?limit=x", "limit must be a number"),
        ("/v1/audit/drops/d?limit=0", "limit must be"),
        ("/v1/audit/drops/d?outcome=won", "accepted or rejected"),
        ("/v1/audit/drops/d?page_token=zzz", "invalid page token"),
        ("/v1/audit/drops/d?sort=desc", "unknown query parameter"),
        ("/v1/audit/drops/d?bidder=a&bidder=b", "more than once"),
    ],
)
def test_bad_audit_queries(target: str, message: str) -> None:
    request = parse_request(f"GET {target} HTTP/1.1".encode())
    assert request is not None
    with pytest.raises(QueryError, match=message):
        parse_audit_query(request)


async def test_probes_and_metrics() -> None:
    async def get(path: str, a: Api) -> tuple[int, bytes]:
        request = parse_request(f"GET {path} HTTP/1.1".encode())
        assert request is not None
        response = await answer(request, a)
        return response.status, response.body

    assert await get("/healthz", api(False)) == (200, b"ok\n")
    assert await get("/readyz", api()) == (200, b"ready\n")
    assert await get("/readyz", api(False)) == (503, b"not ready: cassandra, kafka\n")
    assert await get("/metrics", api()) == (200, b"m 1\n")
    status, body = await get("/nope", api())
    assert status == 404
    assert json.loads(body)["code"] == "not_found"
    status, body = await get("/v1/audit/drops/d?limit=0", api())
    assert (status, json.loads(body)["code"]) == (400, "invalid_query")
    status, body = await get("/v1/audit/drops/d", api())  # no store yet
    assert (status, json.loads(body)["code"]) == (503, "unavailable")
    request = parse_request(b"POST /readyz HTTP/1.1")
    assert request is not None
    assert (await answer(request, api())).status == 405


def test_page_json() -> None:
    row = attempt_from_event(EVENT)
    body = json.loads(page_json("d1", Page([row], "tok")))
    assert body == {"drop": "d1", "attempts": [row.to_json()], "next_page_token": "tok"}
