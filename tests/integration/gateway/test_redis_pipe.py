"""Automatic pipelining on a real Redis: order, and what every caller sees when it breaks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from gavel import redis_client
from gavel.gateway.redis_pipe import PipeBrokenError, RedisPipe
from gavel.redis_client import Endpoint, PrimaryLocator
from gavel_devstack.harness.processes import free_port
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import wait_for


@pytest.fixture
async def admin(stack: Stack) -> AsyncIterator[Redis]:
    client = redis_client.connect(stack.redis_url("us"))
    yield client
    await client.execute_command("CLIENT", "UNPAUSE")
    await client.aclose()


@pytest.fixture
async def locator(stack: Stack) -> AsyncIterator[PrimaryLocator]:
    found = PrimaryLocator(stack.redis_url("us"))
    yield found
    await found.aclose()


async def test_concurrent_callers_each_get_their_own_reply(locator: PrimaryLocator) -> None:
    pipe = RedisPipe(locator, timeout_s=5.0)
    key = f"pipe-{uuid.uuid4().hex}"
    try:
        await asyncio.gather(*(pipe.call(("HSET", key, str(n), f"v{n}")) for n in range(300)))
        answers = await asyncio.gather(*(pipe.call(("HGET", key, str(n))) for n in range(300)))
        counts = await asyncio.gather(*(pipe.call(("HINCRBY", key, "n", 1)) for _ in range(300)))
        await pipe.call(("DEL", key))
    finally:
        await pipe.close()
    assert [reply for reply, _ in answers] == [f"v{n}".encode() for n in range(300)]
    assert [reply for reply, _ in counts] == list(range(1, 301))  # in the order asked


async def test_a_replicated_batch_is_answered_with_its_wait(locator: PrimaryLocator) -> None:
    pipe = RedisPipe(locator, timeout_s=5.0, trailer=lambda: ("WAIT", 1, 2_000))
    key = f"pipe-{uuid.uuid4().hex}"
    try:
        answers = await asyncio.gather(
            *(pipe.call(("INCR", key), replicate=True) for _ in range(50))
        )
        await pipe.call(("DEL", key))
    finally:
        await pipe.close()
    assert [reply for reply, _ in answers] == list(range(1, 51))
    # WAIT 1 returns once at least one of the stack's two replicas acknowledged.
    assert all(isinstance(acked, int) and acked >= 1 for _, acked in answers), answers


async def test_a_connection_killed_mid_batch_fails_every_caller(
    locator: PrimaryLocator, admin: Redis
) -> None:
    name = f"pipe-test-{uuid.uuid4().hex[:8]}"
    pipe = RedisPipe(locator, timeout_s=30.0, name=name)
    key = f"pipe-{uuid.uuid4().hex}"
    try:
        await pipe.call(("PING",))  # connected
        # Writes stall in Redis, so the batch is surely written and unanswered when killed.
        await admin.execute_command("CLIENT", "PAUSE", 10_000, "WRITE")
        calls = [asyncio.ensure_future(pipe.call(("INCR", key))) for _ in range(40)]

        ids: list[str] = []

        async def blocked() -> bool:
            clients = await admin.client_list()
            ids[:] = [c["id"] for c in clients if c["name"] == name and "b" in c["flags"]]
            return bool(ids)

        await wait_for(blocked, 5, "the batch blocked in Redis")
        assert await admin.execute_command("CLIENT", "KILL", "ID", ids[0]) == 1
        outcomes = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), timeout=5)
        assert all(isinstance(o, PipeBrokenError) for o in outcomes), outcomes
        await admin.execute_command("CLIENT", "UNPAUSE")
        # The next call connects again.
        assert (await pipe.call(("PING",)))[0] == b"PONG"
    finally:
        await admin.execute_command("CLIENT", "UNPAUSE")
        await admin.delete(key)
        await pipe.close()


async def test_no_reply_within_the_timeout_fails_every_caller(
    locator: PrimaryLocator, admin: Redis
) -> None:
    pipe = RedisPipe(locator, timeout_s=0.5)
    try:
        await pipe.call(("PING",))
        await admin.execute_command("CLIENT", "PAUSE", 5_000, "WRITE")
        outcomes = await asyncio.wait_for(
            asyncio.gather(
                *(pipe.call(("INCR", f"pipe-{uuid.uuid4().hex}")) for _ in range(10)),
                return_exceptions=True,
            ),
            timeout=4,
        )
        assert all(isinstance(o, PipeBrokenError) for o in outcomes), outcomes
    finally:
        await admin.execute_command("CLIENT", "UNPAUSE")
        await pipe.close()


async def test_an_unreachable_redis_fails_callers_at_once() -> None:
    port = free_port()  # nothing listens there

    async def nowhere() -> Endpoint:
        return Endpoint("127.0.0.1", port)

    pipe = RedisPipe(nowhere, timeout_s=1.0)
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(pipe.call(("PING",)) for _ in range(5)), return_exceptions=True),
        timeout=3,
    )
    assert all(isinstance(o, PipeBrokenError) for o in outcomes), outcomes
    await pipe.close()
