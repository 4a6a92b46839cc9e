"""Each workload's Redis user, on the stack's real Redis: what it may do, and what is refused.

The rules are :mod:`gavel.redis_acl`'s; every workload of every integration test runs with them
(``scripts/stack env`` hands each its ``REDIS_AUTH_<ROLE>``). Here each credential tries what
its workload never should.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import pytest
from redis import exceptions as redis_errors
from redis.asyncio import Redis

from gavel import bidding, endpoints, keys, luascripts, redis_client, redis_url, script_loader
from gavel.auction import Outcome, RateLimit
from gavel.drop_rules import rules_fields
from gavel.redis_acl import Role
from gavel_devstack.harness import redis_nodes
from gavel_devstack.harness.drops import new_drop_id, open_test_drop
from gavel_devstack.harness.stack_env import Stack

Connect = Callable[[Role], Redis]


@pytest.fixture
async def admin(stack: Stack) -> AsyncIterator[Redis]:
    client = redis_client.connect(stack.redis_url(stack.regions[0]))
    yield client
    await client.aclose()


@pytest.fixture
async def as_role(stack: Stack) -> AsyncIterator[Connect]:
    made: list[Redis] = []

    def connect(role: Role) -> Redis:
        url = endpoints.redis_url(stack.regions[0], stack.env, role=role)
        made.append(redis_client.connect(url))
        return made[-1]

    yield connect
    for client in made:
        await client.aclose()


def _call(drop: str) -> bidding.BidCall:
    return bidding.bid_call(
        drop,
        "alice",
        f"b-{uuid.uuid4().hex[:8]}",
        1_000,
        event_id=str(uuid.uuid4()),
        received_ms=0,
        region="us",
        limit=RateLimit(burst=100, per_second=100),
    )


async def _refused(action: Awaitable[object]) -> str:
    """Run ``action``; it must fail for lack of permission. Returns Redis' message."""
    with pytest.raises(redis_errors.ResponseError) as caught:
        await action
    message = str(caught.value)
    assert "permission" in message.lower() or "NOPERM" in message, message
    return message


async def test_the_gateway_decides_bids_and_can_do_little_else(
    admin: Redis, as_role: Connect
) -> None:
    rules = await open_test_drop(admin)
    k = keys.for_drop(rules.drop_id)
    gw = as_role(Role.GATEWAY)
    result = await bidding.place_bid(gw, _call(rules.drop_id))
    assert result.decision.outcome is Outcome.ACCEPTED
    assert await gw.hget(k.rules, "currency") == b"EUR"  # reads its rules

    await _refused(gw.set(k.state, "x"))
    await _refused(gw.delete(k.state))
    await _refused(gw.hset(k.rules, "start_price", "1"))  # the rules are read-only to it
    await _refused(gw.flushall())
    await _refused(gw.config_set("appendonly", "no"))
    await _refused(gw.script_load("return 1"))
    await _refused(gw.eval("return redis.call('SET', KEYS[1], 'x')", 1, k.state))
    await _refused(gw.get("some-other-key"))
    # A loaded script that writes rules is refused inside, command by command: open_drop.lua
    # run by the gateway cannot open a new drop.
    fresh = replace(rules, drop_id=new_drop_id())
    kf = keys.for_drop(fresh.drop_id)
    open_drop = luascripts.script("open_drop")
    with pytest.raises(redis_errors.ResponseError, match=r"can't access|can't run"):
        await gw.evalsha(open_drop.sha, 2, kf.rules, kf.state, *rules_fields(fresh))
    assert await admin.exists(kf.rules) == 0


async def test_the_relay_reads_streams_and_cannot_bid(admin: Redis, as_role: Connect) -> None:
    rules = await open_test_drop(admin)
    k = keys.for_drop(rules.drop_id)
    await bidding.place_bid(admin, _call(rules.drop_id))
    relay = as_role(Role.RELAY)
    assert rules.drop_id.encode() in await relay.smembers(keys.DROP_INDEX)
    await relay.xgroup_create(k.events, keys.RELAY_GROUP, id="0", mkstream=True)
    read = await relay.xreadgroup(keys.RELAY_GROUP, "acl-test", {k.events: ">"}, count=10)
    assert read
    assert len(read[0][1]) == 1

    await _refused(relay.evalsha(luascripts.script("place_bid").sha, 0))
    await _refused(relay.hgetall(k.rules))
    await _refused(relay.xadd(k.events, {"forged": "1"}))
    await _refused(relay.sadd(keys.DROP_INDEX, "forged"))


async def test_the_fanout_records_observers_and_cannot_write_bids(
    admin: Redis, as_role: Connect
) -> None:
    rules = await open_test_drop(admin)
    k = keys.for_drop(rules.drop_id)
    fanout = as_role(Role.FANOUT)
    observers = luascripts.script("observers")
    assert await observers(fanout, [k.rules, k.observers], ["acl-test", 3, 3, 60_000]) is not None
    assert await fanout.hgetall(k.listing) == {}

    await _refused(fanout.hset(k.state, "high_bid", "1"))
    await _refused(fanout.xadd(k.events, {"forged": "1"}))
    with pytest.raises(redis_errors.ResponseError, match=r"can't access|can't run"):
        await bidding.place_bid(fanout, _call(rules.drop_id))


async def test_the_operator_opens_drops_and_loads_scripts_but_cannot_flush(
    as_role: Connect, stack: Stack
) -> None:
    op = as_role(Role.OPERATOR)
    rules = await open_test_drop(op)
    assert await op.exists(keys.for_drop(rules.drop_id).state) == 1
    url = endpoints.redis_url(stack.regions[0], stack.env, role=Role.OPERATOR)
    assert len(await script_loader.load_everywhere(url)) == 3  # primary and two replicas

    await _refused(op.flushall())
    await _refused(op.flushdb())
    await _refused(op.config_set("appendonly", "no"))
    await _refused(op.keys("*"))
    await _refused(op.eval("return 1", 0))


async def test_without_credentials_nothing_answers(stack: Stack) -> None:
    url = stack.env[endpoints.redis_url_var(stack.regions[0])]
    port = redis_nodes.primary_port(stack.redis_url(stack.regions[0]))
    assert port is not None
    client = Redis(port=port)
    with pytest.raises(redis_errors.AuthenticationError):
        await client.ping()
    await client.aclose()
    address = redis_url.parse(url)
    assert isinstance(address, redis_url.SentinelService)
    (host, sentinel_port), *_ = address.sentinels
    sentinel = Redis(host=host, port=sentinel_port)
    with pytest.raises(redis_errors.AuthenticationError):
        await sentinel.ping()
    await sentinel.aclose()


async def test_a_workload_may_only_ask_sentinels_where_the_primary_is(stack: Stack) -> None:
    address = redis_url.parse(endpoints.redis_url(stack.regions[0], stack.env, role=Role.GATEWAY))
    assert isinstance(address, redis_url.SentinelService)
    host, port = address.sentinels[0]
    s = Redis(host=host, port=port, username=address.username, password=address.password)
    try:
        assert await s.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", address.service)
        await _refused(s.execute_command("SENTINEL", "FAILOVER", address.service))
        await _refused(s.execute_command("SENTINEL", "SET", address.service, "quorum", "1"))
    finally:
        await s.aclose()


async def test_a_script_missing_on_the_node_is_a_clear_error_for_the_gateway(
    as_role: Connect,
) -> None:
    source = f"return '{uuid.uuid4().hex}'"  # a script no loader ever loaded
    never_loaded = luascripts.LuaScript("never_loaded", source, _sha1(source))
    with pytest.raises(luascripts.ScriptNotLoadedError, match="gavel redis load-scripts"):
        await never_loaded(as_role(Role.GATEWAY), [], [])


def _sha1(text: str) -> str:
    import hashlib

    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324
