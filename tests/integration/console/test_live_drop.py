"""``gavel drops list``, ``watch`` and ``results`` on a drop running on the real stack: the hub
holds the Drop, the home Redis decides the bids, a relay and an audit writer carry every attempt
into Cassandra, a fan-out in each region serves observers and records them in its region's
Redis. What the console prints is checked against those servers' own state, and its bad inputs
(an unknown drop) against its messages.

With ``GAVEL_WRITE_SCREENS=1`` the watch frame taken here is also written to
docs/images/drops-watch.svg, the README's picture of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import websockets
from kubernetes import client
from redis.asyncio import Redis

from gavel import bidding, endpoints, events, keys, observer_hash, redis_client, state_hash
from gavel.auction import RateLimit
from gavel.audit.store import AuditStore
from gavel_devstack.harness import audit
from gavel_devstack.harness.drops import redis_now_ms
from gavel_devstack.harness.fanout import running_fanout
from gavel_devstack.harness.relay import RELAY_TEST_DB, relay_settings, running_relay, with_db
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import wait_for
from tests.integration.console.conftest import Gavel, drop_manifest, no_traceback, run_gavel, write

ROOT = Path(__file__).resolve().parents[3]
SCREEN = ROOT / "docs" / "images" / "drops-watch.svg"
BIDDERS = (("alice", "us"), ("bob", "eu"), ("carol", "eu"), ("dave", "us"))
TIGHT = RateLimit(burst=1, per_second=1)
"""dave's limit: his second attempt in a row is refused as rate_limited."""
OBSERVERS = {"us": 3, "eu": 2}
"""Sockets this test keeps open on each region's fan-out (no one else uses them)."""


@dataclass
class World:
    name: str
    redis: Redis
    env: dict[str, str]
    """What the CLI needs beyond the stack's: the test database's Redis, the test keyspace."""
    keyspace: str
    writer: str
    placed: list[str] = field(default_factory=list)

    async def bid(self, n: int) -> None:
        """Attempt ``n``: every fifth one repeats the high bid (below the minimum)."""
        bidder, region = BIDDERS[n % len(BIDDERS)]
        state = state_hash.parse(await self.redis.hgetall(keys.for_drop(self.name).state))
        high = state.high_bid if state and state.high_bid else 30_000
        amount = high if n % 5 == 4 else high + 150_000
        await bidding.place_bid(
            self.redis,
            bidding.bid_call(
                self.name,
                bidder,
                f"bid-{n}",
                amount,
                event_id=str(uuid.uuid4()),
                received_ms=int(time.time() * 1000),
                region=region,
                limit=TIGHT if bidder == "dave" else RateLimit(100, 100),
            ),
        )
        self.placed.append(f"bid-{n}")

    async def observed(self, counts: dict[str, int]) -> None:
        """Wait until each region's Redis counts ``counts[region]`` observers of the drop."""
        clients = {r: redis_client.connect(self.env[endpoints.redis_url_var(r)]) for r in counts}

        async def recorded() -> bool:
            for region, n in counts.items():
                raw = await clients[region].hgetall(keys.for_drop(self.name).observers)
                now = await redis_now_ms(clients[region])
                if observer_hash.figures(raw, now).current != n:
                    return False
            return True

        try:
            await wait_for(recorded, 30, f"observers of {self.name} recorded: {counts}")
        finally:
            for client in clients.values():
                await client.aclose()

    async def settled(self, store: AuditStore) -> None:
        """Wait until every attempt left the outbox and is in the trail."""

        async def done() -> bool:
            if await self.redis.xlen(keys.for_drop(self.name).events):
                return False
            return len(await audit.trail(store, self.name)) == len(self.placed)

        await wait_for(done, 60, f"{len(self.placed)} attempts of {self.name} in the trail")


@pytest.fixture(scope="module")
async def world(
    stack: Stack, hub_api: client.CustomObjectsApi, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    url = with_db(stack.redis_url("us"), RELAY_TEST_DB)  # the database relay tests drain
    eu_url = with_db(stack.redis_url("eu"), RELAY_TEST_DB)
    redis = redis_client.connect(url)
    now = await redis_now_ms(redis)
    name = f"daytona-{uuid.uuid4().hex[:6]}"
    manifest = write(
        tmp_path_factory.mktemp("console"),
        drop_manifest(name, starts_ms=now - 60_000, ends_ms=now + 3_600_000),
    )
    redis_env = {endpoints.redis_url_var("us"): url, endpoints.redis_url_var("eu"): eu_url}
    env = {**stack.env, endpoints.HUB_KUBECONFIG: stack.kubeconfig("hub"), **redis_env}
    opening = ("open", str(manifest), "--region", "us", "--region", "eu")
    for args in (("schedule", str(manifest)), opening):
        done = run_gavel(env, "drops", *args)
        assert done.returncode == 0, done.stderr
    keyspace = f"console_{uuid.uuid4().hex[:10]}"
    audit.prepare_keyspace(stack, keyspace)
    group = audit.new_group()
    await audit.group_at_end(stack.kafka("us"), group)
    writer = audit.writer_settings(stack, keyspace, group)
    relay = relay_settings(url, stack.kafka("us"))
    try:
        async with running_relay(relay), audit.running_writer(writer):
            fanout_env = {**stack.env, **redis_env}  # they record observers where the CLI reads
            with running_fanout(fanout_env, "us") as us, running_fanout(fanout_env, "eu") as eu:
                world = World(
                    name,
                    redis,
                    {**env, "CASSANDRA_CONTACT": "{}:{}".format(*stack.cassandra)},
                    keyspace,
                    writer=f"http://127.0.0.1:{writer.port}",
                )
                async with contextlib.AsyncExitStack() as sockets:
                    for ws, n in ((us, OBSERVERS["us"]), (eu, OBSERVERS["eu"])):
                        for _ in range(n):
                            conn = await sockets.enter_async_context(
                                websockets.connect(f"{ws}/v1/drops/{name}/live")
                            )
                            # An observer that never reads is a slow consumer: its fan-out
                            # would close it once the prices it did not read piled up.
                            reader = asyncio.create_task(_read_all(conn))
                            sockets.callback(reader.cancel)
                    for n in range(40):
                        await world.bid(n)
                    await world.observed(OBSERVERS)
                    yield world
    finally:
        audit.drop_keyspace(stack, keyspace)
        hub_api.delete_namespaced_custom_object("gavel.dev", "v1alpha1", "default", "drops", name)
        await redis.aclose()


async def _read_all(conn: websockets.ClientConnection) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        async for _ in conn:
            pass


@pytest.fixture(scope="module")
async def store(stack: Stack, world: World) -> AsyncIterator[AuditStore]:
    s = AuditStore.open(audit.target(stack, world.keyspace))
    yield s
    s.close()


def cli(world: World, *args: str) -> Any:
    return run_gavel(world.env, "drops", *args)


async def test_list_shows_the_drop_with_its_live_figures(world: World) -> None:
    out = await asyncio.to_thread(cli, world, "list", "-n", "default")
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if world.name in x)
    state = state_hash.parse(await world.redis.hgetall(keys.for_drop(world.name).state))
    assert state is not None
    assert state.high_bid is not None
    major, minor = divmod(state.high_bid, 100)
    assert f"EUR {major:,}.{minor:02d}" in line
    assert "Live (redis)" in line
    assert "?/2" in line  # no operator: nobody reported the regions ready


async def test_watch_once_shows_the_drop_as_its_servers_have_it(
    world: World, tmp_path: Path
) -> None:
    svg = tmp_path / "watch.svg"
    keep_bidding = asyncio.create_task(_bids_every(world, 0.1))
    try:
        out = await asyncio.to_thread(
            cli,
            world,
            "watch",
            world.name,
            "--once",
            "--audit-writer",
            f"us={world.writer}",
            "--svg",
            str(svg),
        )
    finally:
        keep_bidding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keep_bidding
    assert out.returncode == 0, out.stderr
    text = out.stdout
    raw = await world.redis.hgetall(keys.for_drop(world.name).state)
    counts = state_hash.counts(raw)
    for expected in (
        world.name,
        "Rolex Cosmograph Daytona",
        "Live",
        "below_minimum",
        "rate_limited",
        "relay backlog",
        "records",  # the audit writer's lag, read from its /metrics
    ):
        assert expected in text, (expected, text)
    assert re.search(r"ends in \d\d:\d\d", text), text  # under an hour left
    assert counts.refused["below_minimum"] > 0
    assert counts.refused["rate_limited"] > 0
    for region, n in OBSERVERS.items():  # the observers table's row of each region: now, peak
        assert re.search(rf"│ {region}\s+│\s+{n} │\s+{n} │", text), text
    bids_line = next(x for x in text.splitlines() if "bids/s" in x)
    assert "—" not in bids_line.split("(")[0]  # a rate from two readings, not a dash
    assert svg.read_text().startswith("<svg")
    if os.environ.get("GAVEL_WRITE_SCREENS") == "1":
        shutil.copyfile(svg, SCREEN)


async def _bids_every(world: World, seconds: float) -> None:
    n = 1000
    while True:
        await world.bid(n)
        n += 1
        await asyncio.sleep(seconds)


async def test_results_agree_with_redis_in_every_format(world: World, store: AuditStore) -> None:
    await world.settled(store)
    state = state_hash.parse(await world.redis.hgetall(keys.for_drop(world.name).state))
    assert state is not None
    assert state.leader is not None
    out = await asyncio.to_thread(
        cli, world, "results", world.name, "--format", "json", "--keyspace", world.keyspace
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["winner"] == state.leader
    assert result["winner_alias"] == events.leader_alias(world.name, state.leader)
    assert result["final_price"] == state.high_bid
    assert result["bids"] == state.bids
    assert result["attempts"] == len(world.placed)
    assert result["reserve_met"] is True
    assert result["final"] is False  # still open: provisional
    assert {r["region"]: r["observers_at_peak"] for r in result["regions"]} == OBSERVERS
    assert sum(result["by_reason"].values()) == len(world.placed)

    csv_out = await asyncio.to_thread(
        cli, world, "results", world.name, "--format", "csv", "--keyspace", world.keyspace
    )
    assert csv_out.returncode == 0, csv_out.stderr
    assert f"result,final_price,{state.high_bid}" in csv_out.stdout
    for region, n in OBSERVERS.items():
        assert f"region_observers_at_peak,{region},{n}" in csv_out.stdout
    table = await asyncio.to_thread(cli, world, "results", world.name, "--keyspace", world.keyspace)
    assert table.returncode == 0, table.stderr
    assert "provisional" in table.stdout
    assert state.leader in table.stdout


async def test_results_say_where_the_trail_and_redis_disagree(
    world: World, store: AuditStore
) -> None:
    await world.settled(store)
    k = keys.for_drop(world.name)
    await world.redis.hincrby(k.state, "bids", 1)  # a count the trail cannot back
    try:
        out = await asyncio.to_thread(
            cli, world, "results", world.name, "--keyspace", world.keyspace
        )
    finally:
        await world.redis.hincrby(k.state, "bids", -1)
    assert out.returncode == 1
    assert "the audit trail and the final Redis state disagree" in out.stderr
    assert "accepted bids: trail" in out.stderr
    no_traceback(out)


@pytest.mark.parametrize("command", ["watch", "results"])
async def test_an_unknown_drop_is_said_so(world: World, command: str) -> None:
    args = (
        [command, "no-such-drop", "--keyspace", world.keyspace]
        if command == "results"
        else [
            command,
            "no-such-drop",
            "--once",
        ]
    )
    out = await asyncio.to_thread(cli, world, *args)
    assert out.returncode == 1
    assert "no drop 'no-such-drop' in namespace 'default' on the hub" in out.stderr
    no_traceback(out)


async def test_a_drop_on_the_hub_but_not_in_redis_is_said_so(
    world: World, gavel: Gavel, tmp_path: Path
) -> None:
    name = f"unopened-{uuid.uuid4().hex[:6]}"
    now = await redis_now_ms(world.redis)
    doc = drop_manifest(name, starts_ms=now + 3_600_000, ends_ms=now + 7_200_000)
    assert gavel("drops", "schedule", str(write(tmp_path, doc))).returncode == 0
    dead = "us=http://127.0.0.1:9"  # nothing listens there
    out = await asyncio.to_thread(
        cli, world, "watch", name, "--once", "--interval", "0.2", "--audit-writer", dead
    )
    assert out.returncode == 0, out.stderr
    assert "not opened in us's Redis yet" in out.stdout
    assert "unreachable (ConnectError)" in out.stdout  # the other sources are still shown
    out = await asyncio.to_thread(cli, world, "results", name, "--keyspace", world.keyspace)
    assert out.returncode == 1
    assert "it was never opened there" in out.stderr
