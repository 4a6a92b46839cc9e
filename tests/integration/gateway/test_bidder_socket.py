"""The bidder WebSocket over a real connection: bids in, results and "you were outbid" out."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import websockets
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection

from gavel import keys, redis_client
from gavel_devstack.harness import tokens
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.gateway import running_gateway
from gavel_devstack.harness.stack_env import Stack


@pytest.fixture(scope="module")
def gateway(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_gateway(stack.env, "us", tmp_path_factory.mktemp("outbox")) as base:
        yield base.replace("http://", "ws://")


@pytest.fixture
async def redis(stack: Stack) -> AsyncIterator[Redis]:
    client = redis_client.connect(stack.redis_url("us"))
    yield client
    await client.aclose()


def socket_url(stack: Stack, base: str, drop: str, bidder: str) -> tuple[str, dict[str, str]]:
    tok = tokens.mint(stack.env, bidder)
    return f"{base}/v1/drops/{drop}/bidder", {"Authorization": f"Bearer {tok}"}


async def recv(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await ws.recv(decode=True))


async def test_bid_over_the_socket_and_outbid_push(
    gateway: str, stack: Stack, redis: Redis
) -> None:
    rules = await open_test_drop(redis)
    url_a, head_a = socket_url(stack, gateway, rules.drop_id, "alice")
    url_b, head_b = socket_url(stack, gateway, rules.drop_id, "bob")
    async with (
        websockets.connect(url_a, additional_headers=head_a) as alice,
        websockets.connect(url_b, additional_headers=head_b) as bob,
    ):
        await alice.send(json.dumps({"bid_id": "a1", "amount": 1_000}))
        result = await recv(alice)
        assert (result["type"], result["outcome"], result["leader_is_you"]) == (
            "result",
            "accepted",
            True,
        )
        await bob.send(json.dumps({"bid_id": "b1", "amount": 1_100}))
        assert (await recv(bob))["outcome"] == "accepted"
        outbid = await recv(alice)
        assert outbid == {
            "type": "outbid",
            "drop": rules.drop_id,
            "seq": 2,
            "high_bid": 1_100,
            "min_next": 1_200,
            "ends_at_ms": rules.ends_at_ms,
        }


async def test_many_bids_in_flight_each_answer_names_its_bid(
    gateway: str, stack: Stack, redis: Redis
) -> None:
    rules = await open_test_drop(redis)
    url, head = socket_url(stack, gateway, rules.drop_id, "frank")
    sent = {f"f-{n}": 1_000 + 100 * n for n in range(10)}  # the default burst: 10 at once
    async with websockets.connect(url, additional_headers=head) as ws:
        for bid_id, amount in sent.items():  # none waits for an answer
            await ws.send(json.dumps({"bid_id": bid_id, "amount": amount}))
        answers = [await recv(ws) for _ in sent]
    assert {a["type"] for a in answers} == {"result"}
    assert sorted(a["bid_id"] for a in answers) == sorted(sent)
    # Decided in whatever order they reached Redis: the highest is accepted whatever came first.
    assert {a["reason"] for a in answers} <= {"accepted", "below_minimum"}
    assert any(a["bid_id"] == "f-9" and a["outcome"] == "accepted" for a in answers)
    state = await redis.hgetall(keys.for_drop(rules.drop_id).state)
    assert int(state[b"high_bid"]) == sent["f-9"]


async def test_bad_messages_get_an_error_and_the_socket_stays_open(
    gateway: str,
    stack: Stack,
    redis: Redis,
) -> None:
    rules = await open_test_drop(redis)
    url, head = socket_url(stack, gateway, rules.drop_id, "carol")
    async with websockets.connect(url, additional_headers=head) as ws:
        await ws.send("{not json")
        assert (await recv(ws))["code"] == "malformed_json"
        await ws.send(json.dumps({"bid_id": "1", "amount": -1}))
        assert (await recv(ws))["code"] == "invalid_request"
        await ws.send(json.dumps({"bid_id": "1", "amount": 500}))
        reply = await recv(ws)
        assert (reply["outcome"], reply["reason"], reply["min_next"]) == (
            "rejected",
            "below_minimum",
            1_000,
        )


async def test_oversized_message_closes_with_1009(gateway: str, stack: Stack, redis: Redis) -> None:
    rules = await open_test_drop(redis)
    url, head = socket_url(stack, gateway, rules.drop_id, "dave")
    async with websockets.connect(url, additional_headers=head) as ws:
        await ws.send("x" * 10_000)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009


async def test_bad_token_and_unknown_drop_close_with_clear_codes(
    gateway: str,
    stack: Stack,
    redis: Redis,
) -> None:
    rules = await open_test_drop(redis)
    url = f"{gateway}/v1/drops/{rules.drop_id}/bidder?access_token=garbage"
    async with websockets.connect(url) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "invalid_token")
    url, head = socket_url(stack, gateway, "no-such-drop", "erin")
    async with websockets.connect(url, additional_headers=head) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4404, "unknown_drop")
