"""The gateway over real HTTP against real Redis: every answer, one case at a time."""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from gavel import outbox, redis_client
from gavel.events import BidEvent
from gavel_devstack import issuer_keys
from gavel_devstack.harness import tokens
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.gateway import running_gateway
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import wait_for


@pytest.fixture(scope="module")
def outbox_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outbox")


@pytest.fixture(scope="module")
def gateway(stack: Stack, outbox_dir: Path) -> Iterator[str]:
    with running_gateway(stack.env, "us", outbox_dir, ("--rate-burst", "20")) as base:
        yield base


@pytest.fixture
async def redis(stack: Stack) -> AsyncIterator[Redis]:
    client = redis_client.connect(stack.redis_url("us"))
    yield client
    await client.aclose()


@pytest.fixture
async def http(gateway: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
        yield client


def token(stack: Stack, bidder: str = "alice", **kw: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.mint(stack.env, bidder, **kw)}"}


async def post(
    http: httpx.AsyncClient, stack: Stack, drop: str, body: object, bidder: str = "alice"
) -> httpx.Response:
    return await http.post(f"/v1/drops/{drop}/bids", json=body, headers=token(stack, bidder))


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == code
    assert body["status"] == status
    return body


async def test_accepted_bid(http: httpx.AsyncClient, stack: Stack, redis: Redis) -> None:
    rules = await open_test_drop(redis)
    r = await post(http, stack, rules.drop_id, {"bid_id": "b1", "amount": 1_000})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["outcome"], body["seq"], body["high_bid"], body["min_next"]) == (
        "accepted",
        1,
        1_000,
        1_100,
    )
    assert body["leader_is_you"] is True
    assert body["ends_at_ms"] == rules.ends_at_ms


async def test_repeat_returns_the_first_answer(
    http: httpx.AsyncClient, stack: Stack, redis: Redis
) -> None:
    rules = await open_test_drop(redis)
    first = (await post(http, stack, rules.drop_id, {"bid_id": "r", "amount": 1_000})).json()
    again = await post(http, stack, rules.drop_id, {"bid_id": "r", "amount": 1_000})
    assert again.status_code == 201
    assert again.json()["event_id"] == first["event_id"]
    assert again.json()["duplicate"] is True


async def test_below_increment_is_409_with_the_minimum(
    http: httpx.AsyncClient, stack: Stack, redis: Redis
) -> None:
    rules = await open_test_drop(redis)
    await post(http, stack, rules.drop_id, {"bid_id": "1", "amount": 1_000})
    body = assert_problem(
        await post(http, stack, rules.drop_id, {"bid_id": "2", "amount": 1_050}, "bob"),
        409,
        "below_minimum",
    )
    assert body["min_next"] == 1_100
    assert body["high_bid"] == 1_000


async def test_closed_and_not_open_are_409(
    http: httpx.AsyncClient, stack: Stack, redis: Redis
) -> None:
    closed = await open_test_drop(redis, opens_in_ms=-60_000, lasts_ms=1_000)
    assert_problem(
        await post(http, stack, closed.drop_id, {"bid_id": "1", "amount": 5_000}), 409, "closed"
    )
    early = await open_test_drop(redis, opens_in_ms=60_000)
    assert_problem(
        await post(http, stack, early.drop_id, {"bid_id": "1", "amount": 5_000}), 409, "not_open"
    )


async def test_malformed_json_is_400(http: httpx.AsyncClient, stack: Stack) -> None:
    r = await http.post(
        "/v1/drops/x/bids",
        content=b'{"bid_id": "1", "amount": ',
        headers={**token(stack), "content-type": "application/json"},
    )
    assert_problem(r, 400, "malformed_json")


@pytest.mark.parametrize(
    "body",
    [
        {"bid_id": "1", "amount": "1000"},
        {"bid_id": "1", "amount": 10.5},
        {"bid_id": "1", "amount": -5},
        {"bid_id": "1", "amount": 0},
        {"bid_id": "1", "amount": 10**16},
        {"bid_id": "1", "amount": True},
        {"bid_id": "", "amount": 1000},
        {"bid_id": "x" * 65, "amount": 1000},
        {"bid_id": "1", "amount": 1000, "max": 2000},
        {"amount": 1000},
        [1, 2],
    ],
)
async def test_wrong_shapes_are_422(http: httpx.AsyncClient, stack: Stack, body: object) -> None:
    body_doc = assert_problem(await post(http, stack, "any-drop", body), 422, "invalid_request")
    assert body_doc["errors"]


async def test_wrong_content_type_is_415(http: httpx.AsyncClient, stack: Stack) -> None:
    r = await http.post(
        "/v1/drops/x/bids",
        content=b"bid_id=1",
        headers={**token(stack), "content-type": "application/x-www-form-urlencoded"},
    )
    assert_problem(r, 415, "unsupported_media_type")


async def test_tokens(http: httpx.AsyncClient, stack: Stack) -> None:
    url, body = "/v1/drops/x/bids", {"bid_id": "1", "amount": 1}
    r = await http.post(url, json=body)
    assert_problem(r, 401, "missing_token")
    assert r.headers["www-authenticate"] == "Bearer"
    assert_problem(
        await http.post(url, json=body, headers={"Authorization": "Basic abc"}),
        401,
        "malformed_token",
    )
    # Signed by a key the issuer never published, under the kid of one it did.
    signing_kid = issuer_keys.ensure(tokens.run_dir(stack.env))
    impostor = ec.generate_private_key(ec.SECP256R1())
    claims = {"sub": "alice", "aud": "gavel-bidders", "iss": stack.env["GAVEL_TOKEN_ISSUER"]}
    forged = jwt.encode(
        {**claims, "exp": int(time.time()) + 60},
        impostor,
        algorithm="ES256",
        headers={"kid": signing_kid},
    )
    assert_problem(
        await http.post(url, json=body, headers={"Authorization": f"Bearer {forged}"}),
        401,
        "invalid_token",
    )
    expired = token(stack, ttl_s=-60)
    assert_problem(await http.post(url, json=body, headers=expired), 401, "token_expired")
    for wrong in ({"aud": "observers"}, {"iss": "https://elsewhere.example/"}):
        other = tokens.mint(stack.env, "alice", claims=wrong)
        assert_problem(
            await http.post(url, json=body, headers={"Authorization": f"Bearer {other}"}),
            401,
            "invalid_token",
        )
    none_alg = jwt.encode(
        {**claims, "exp": int(time.time()) + 60},
        None,
        algorithm="none",
        headers={"kid": signing_kid},
    )
    assert_problem(
        await http.post(url, json=body, headers={"Authorization": f"Bearer {none_alg}"}),
        401,
        "invalid_token",
    )


async def test_unknown_drop_is_404_and_audited_from_the_disk_outbox(
    http: httpx.AsyncClient,
    stack: Stack,
    outbox_dir: Path,
) -> None:
    drop = f"nope-{uuid.uuid4().hex[:8]}"
    assert_problem(
        await post(http, stack, drop, {"bid_id": "1", "amount": 1_000}), 404, "unknown_drop"
    )
    found: list[BidEvent] = []

    async def in_a_closed_segment() -> bool:
        found[:] = [
            e for seg in outbox.iter_pending(outbox_dir) for e in seg.events if e.drop == drop
        ]
        return bool(found)

    # The gateway closes its segment every second.
    await wait_for(in_a_closed_segment, 5, "the attempt in a closed outbox segment")
    assert [(e.bidder, e.decision.reason.value) for e in found] == [("alice", "unknown_drop")]


async def test_oversized_bodies_are_413(http: httpx.AsyncClient, stack: Stack) -> None:
    big = json.dumps({"bid_id": "1", "amount": 1, "pad": "x" * 10_000}).encode()
    r = await http.post(
        "/v1/drops/x/bids",
        content=big,
        headers={**token(stack), "content-type": "application/json"},
    )
    assert_problem(r, 413, "payload_too_large")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 1000

    r = await http.post(
        "/v1/drops/x/bids",
        content=chunks(),
        headers={**token(stack), "content-type": "application/json"},
    )
    assert_problem(r, 413, "payload_too_large")


async def test_flood_is_429_with_retry_after(
    http: httpx.AsyncClient, stack: Stack, redis: Redis
) -> None:
    # All at once: sent one by one on a busy machine, the bucket refills (5/s) between them.
    # The limit is on attempts, before any rule, so how many pass depends only on the burst
    # (20) and on how long the flood took to arrive.
    rules = await open_test_drop(redis)
    flood = 60
    started = time.monotonic()
    answers = await asyncio.gather(
        *(
            post(
                http,
                stack,
                rules.drop_id,
                {"bid_id": f"f{i}", "amount": 1_000 + 100 * i},
                "flooder",
            )
            for i in range(flood)
        )
    )
    refilled = math.ceil(5 * (time.monotonic() - started))
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {201, 409, 429}, statuses
    assert statuses.count(429) >= flood - 20 - refilled, (statuses, refilled)
    assert statuses.count(429) > 0
    r = next(a for a in answers if a.status_code == 429)
    body = assert_problem(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) >= 1
    assert body["retry_after_ms"] > 0


async def test_drop_view(http: httpx.AsyncClient, stack: Stack, redis: Redis) -> None:
    rules = await open_test_drop(redis)
    await post(http, stack, rules.drop_id, {"bid_id": "1", "amount": 2_000})
    view = (await http.get(f"/v1/drops/{rules.drop_id}")).json()
    assert (view["status"], view["high_bid"], view["min_next"], view["seq"]) == (
        "live",
        2_000,
        2_100,
        1,
    )
    assert view["leader_alias"].startswith("bidder-")
    assert "alice" not in json.dumps(view)
    assert_problem(await http.get("/v1/drops/no-such-drop"), 404, "unknown_drop")


async def test_health_ready_and_metrics(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    assert (await http.get("/readyz")).status_code == 200
    text = (await http.get("/metrics")).text
    assert "gavel_gateway_bids_total" in text
    assert "gavel_gateway_bid_seconds_bucket" in text


async def test_unroutable_paths_are_problems_too(http: httpx.AsyncClient) -> None:
    assert_problem(await http.get("/v1/nothing"), 404, "not_found")
    assert_problem(await http.delete("/v1/drops/x/bids"), 405, "method_not_allowed")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=st.one_of(
        st.binary(max_size=300),
        st.dictionaries(
            st.text(max_size=8),
            st.one_of(st.integers(), st.floats(), st.text(max_size=20), st.none()),
            max_size=4,
        ).map(lambda d: json.dumps(d).encode()),
    )
)
async def test_no_input_makes_a_500(http: httpx.AsyncClient, stack: Stack, raw: bytes) -> None:
    r = await http.post(
        "/v1/drops/fuzz-drop/bids",
        content=raw,
        headers={**token(stack, "fuzzer"), "content-type": "application/json"},
    )
    assert r.status_code in {400, 404, 409, 413, 422, 429}, r.text
