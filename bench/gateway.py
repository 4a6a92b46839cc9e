"""Bid gateway benchmark: bids/s and ack latency over REST and the bidder WebSocket, against
EVALSHA called directly, in one run on one machine.

For each connection count in ``--connections`` (default 4, 16, 64):

1. **raw EVALSHA** — ``place_bid.lua`` called from Python with ``EVALSHA``, one connection per
   caller, each waiting for its answer: one Redis round trip per bid, the floor any gateway
   pays and the baseline every row of that connection count is divided by;
2. **pipelined EVALSHA** — the same callers sharing one auto-pipelined connection
   (:mod:`gavel.gateway.redis_pipe`, what the gateway uses): the ceiling of a Python client;
3. **REST xN** — ``gavel gateway --workers N`` for each N in ``--workers``, loaded by ``wrk``
   with that many keep-alive connections (closed loop, 200 bidders, one hot drop);
4. **WS xN** — the same gateway, loaded through that many bidder sockets, each keeping
   ``--window`` bids in flight (``bench/bidder_client``, a Go load generator);
5. **REST x1 at 70 %** (with ``--paced``) — one process driven open-loop at 70 % of the peak
   its REST row measured, at 16 connections: the "p99 at a sustained rate" figure;
6. **the cost of the ACL user** (with ``--acl-cost``) — raw EVALSHA logged in as the gateway's
   ACL user (its selectors checked on every command inside the script) against the same as
   Redis' ``default`` user, and a REST x1 gateway logged in as ``default`` beside the REST x1
   row (which runs, as every gateway does, as ``gavel-gateway``).

Every row also counts the append-only-file rewrites the region's Redis nodes began during it
(``INFO persistence``): a rewrite forks the node, and on this machine the fork shares the cores
with the gateway and its load, so a row's p99 is only the gateway's where that count is 0.

With the stack's Sentinel URL the gateway answers only once the replicas hold each decision
(``WAIT``, the default); ``--wait-replicas 0`` measures it without. Numbers and how they were
obtained are kept in docs/performance.md.

Run (needs the local stack's Redis and wrk, ``apt-get install wrk``)::

    scripts/stack up --only redis
    .venv/bin/python -m bench.gateway --seconds 8 --connections 4,16,64 --workers 1,2 --paced
    .venv/bin/python -m bench.gateway --seconds 8 --connections 16 --workers 1 --acl-cost
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import redis as sync_redis
from redis.asyncio import Redis
from rich.console import Console
from rich.table import Table

from bench.go_tools import go_tool
from gavel import auction, bidding, drops, endpoints, keys, luascripts, redis_client, redis_url
from gavel.gateway.redis_pipe import RedisPipe
from gavel.redis_acl import Role
from gavel_devstack.harness import redis_nodes
from gavel_devstack.harness import tokens as bidder_tokens
from gavel_devstack.harness.processes import free_port, stack_env
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.redis_auth import SUPERUSER_VAR
from gavel_operator import auctions

ROOT = Path(__file__).resolve().parents[1]

console = Console(width=150)
UNLIMITED = auction.RateLimit(burst=10**9, per_second=10**9)
Row = dict[str, float]


class AofRewrites:
    """AOF rewrites the region's Redis nodes have begun, read at each row's end: a row whose
    p99 jumped while a node forked a rewrite child was measuring the fork (issue 12), which
    the table then says."""

    def __init__(self, run_dir: Path, region: str = "us") -> None:
        self._nodes = [sync_redis.Redis.from_url(n.url) for n in redis_nodes.nodes(run_dir, region)]
        self._last = self._total()

    def _total(self) -> int:
        return sum(int(n.info("persistence").get("aof_rewrites", 0)) for n in self._nodes)

    def since_last(self) -> int:
        now = self._total()
        began, self._last = now - self._last, now
        return began

    def close(self) -> None:
        for node in self._nodes:
            node.close()


async def open_bench_drop(redis: Redis) -> str:
    """A new hot drop, after removing the bench drops earlier rows left.

    Rows would otherwise pile their bids up in one Redis: at a few hundred MB the primary and
    both replicas (one machine here) rewrite their append-only files at the same moment, and
    the paced row measured those seconds of forks instead of the gateway."""
    for member in await redis.smembers(keys.DROP_INDEX):
        name = member.decode() if isinstance(member, bytes) else member
        if name.startswith("bench-"):
            await auctions.remove(redis, name, home=True)
    seconds, micros = await redis.time()
    now = seconds * 1000 + micros // 1000
    rules = auction.Rules(
        drop_id=f"bench-{uuid.uuid4().hex[:10]}",
        home_region="us",
        currency="EUR",
        start_price=1_000,
        reserve=0,
        increments=(auction.IncrementStep(0, 1),),
        opens_at_ms=now - 1_000,
        ends_at_ms=now + 3_600_000,
    )
    await drops.open_drop(redis, rules)
    return rules.drop_id


def write_tokens(env: Mapping[str, str], bidders: int) -> Path:
    """A file of bidder tokens, one per line, for the wrk script."""
    fd, name = tempfile.mkstemp(prefix="gavel-bench-tokens-")
    with os.fdopen(fd, "w") as f:
        f.writelines(
            t + "\n" for t in bidder_tokens.mint_many(env, [f"bidder-{i}" for i in range(bidders)])
        )
    return Path(name)


def percentile(sorted_values: list[float], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


async def baseline(url: str, drop: str, connections: int, seconds: float) -> dict[str, float]:
    """EVALSHA of place_bid.lua, `connections` concurrent callers, each on its own connection."""
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def caller(n: int) -> None:
        client = redis_client.connect(url)
        i = 0
        try:
            while time.perf_counter() < stop:
                i += 1
                t0 = time.perf_counter()
                await bidding.place_bid(
                    client,
                    bidding.bid_call(
                        drop,
                        f"bidder-{n % 200}",
                        f"e{n}-{i}",
                        1_000 + i * connections + n,
                        event_id=f"{n}-{i}",
                        received_ms=0,
                        region="us",
                        limit=UNLIMITED,
                    ),
                )
                latencies.append(time.perf_counter() - t0)
        finally:
            await client.aclose()

    began = time.perf_counter()
    await asyncio.gather(*(caller(n) for n in range(connections)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 0.5) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "n": len(latencies),
    }


async def pipelined_baseline(
    url: str, drop: str, connections: int, seconds: float
) -> dict[str, float]:
    """The same callers, but sharing one auto-pipelined connection (the gateway's client)."""
    latencies: list[float] = []
    stop = time.perf_counter() + seconds
    locator = redis_client.PrimaryLocator(url)
    pipe = RedisPipe(locator, timeout_s=5.0)

    async def caller(n: int) -> None:
        i = 0
        while time.perf_counter() < stop:
            i += 1
            t0 = time.perf_counter()
            call = bidding.bid_call(
                drop,
                f"bidder-{n % 200}",
                f"p{n}-{i}",
                1_000 + i * connections + n,
                event_id=f"p{n}-{i}",
                received_ms=0,
                region="us",
                limit=UNLIMITED,
            )
            reply, _ = await pipe.call(bidding.evalsha_command(call))
            bidding.result_of(reply)
            latencies.append(time.perf_counter() - t0)

    await pipe.call(("SCRIPT", "LOAD", luascripts.script("place_bid").source))
    began = time.perf_counter()
    try:
        await asyncio.gather(*(caller(n) for n in range(connections)))
    finally:
        await pipe.close()
        await locator.aclose()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 0.5) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "n": len(latencies),
    }


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _find(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    if found is None:
        raise RuntimeError(f"wrk output has no {pattern!r}:\n{text}")
    return found.group(1)


def parse_wrk(text: str) -> dict[str, float]:
    rps = float(_find(r"Requests/sec:\s+([\d.]+)", text))
    lat = {}
    for pct, value, unit in re.findall(r"\s+(50|99)%\s+([\d.]+)(us|ms|s)\b", text):
        lat[pct] = float(value) * _UNIT[unit]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    total = int(_find(r"(\d+) requests in", text))
    return {
        "rps": rps,
        "p50": lat["50"],
        "p99": lat["99"],
        "n": total,
        "rejected": int(non2xx.group(1)) if non2xx else 0,
    }


@contextmanager
def running_gateway(env: dict[str, str], workers: int, wait_replicas: int | None) -> Iterator[str]:
    port = free_port()
    wait = () if wait_replicas is None else ("--wait-replicas", str(wait_replicas))
    outbox = Path(tempfile.mkdtemp(prefix="gavel-bench-outbox-"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gavel",
            "gateway",
            "--region",
            "us",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--outbox-dir",
            str(outbox),
            "--rate-burst",
            str(10**9),
            "--rate-per-second",
            str(10**9),
            *wait,
        ],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # start-up on a crowded machine
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gateway did not become ready")
            time.sleep(0.2)
        time.sleep(0.5 * workers)  # let every worker come up before loading
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        shutil.rmtree(outbox, ignore_errors=True)


def rest_load(base: str, drop: str, connections: int, seconds: float, tokens: Path) -> Row:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{int(seconds)}s",
            "--latency",
            "-s",
            str(ROOT / "bench" / "wrk_bids.lua"),
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GAVEL_BENCH_TOKENS": str(tokens), "GAVEL_BENCH_DROP": drop},
    )
    return parse_wrk(out.stdout)


def client_load(mode: str, base: str, drop: str, tokens: Path, **opts: float) -> Row:
    """bench/bidder_client (Go: a load generator that leaves the cores to the gateway)."""
    args = [f"-{k}={v}" for k, v in opts.items()]
    out = subprocess.run(
        [
            str(go_tool("bidder_client")),
            mode,
            f"-base={base}",
            f"-drop={drop}",
            f"-tokens={tokens}",
            *args,
        ],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def print_table(title: str, rows: list[tuple[int, str, Row, Row]]) -> None:
    table = Table(title=title)
    columns = ("conns", "scenario", "bids/s", "p50 ms", "p99 ms", "bids", "AOF rewrites")
    for col in (*columns, "x raw EVALSHA"):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    for conns, name, r, base in rows:
        table.add_row(
            str(conns),
            name,
            f"{r['rps']:,.0f}",
            f"{r['p50']:.2f}",
            f"{r['p99']:.2f}",
            f"{int(r['n']):,}",
            str(int(r.get("aof_rewrites", 0))),
            f"{r['rps'] / base['rps']:.2f}",
        )
    console.print(table)


AddRow = Callable[[int, str, Row, Row], None]
"""Records one table row: (connections, scenario, its figures, its baseline)."""


async def acl_cost_rows(
    env: dict[str, str],
    redis: Redis,
    add: AddRow,
    *,
    conns: int,
    seconds: float,
    wait_replicas: int | None,
    base: Row,
) -> None:
    """Raw EVALSHA as the gateway's ACL user, and a REST x1 gateway as the default user."""
    tokens = write_tokens(env, 200)
    gw_url = endpoints.redis_url("us", env, role=Role.GATEWAY)
    with console.status(f"{conns} connections: raw EVALSHA as the gateway's user"):
        acl = await baseline(gw_url, await open_bench_drop(redis), conns, seconds)
    add(conns, "raw EVALSHA as gavel-gateway (ACL)", acl, base)
    as_default = {**env, endpoints.redis_auth_var(Role.GATEWAY): env[SUPERUSER_VAR]}
    with (
        running_gateway(as_default, 1, wait_replicas) as gw,
        console.status(f"{conns} connections: REST x1 as the default user"),
    ):
        rest = rest_load(gw, await open_bench_drop(redis), conns, seconds, tokens)
    os.unlink(tokens)
    add(conns, "gateway x1, REST (wrk), as user default", rest, base)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", default="4,16,64", help="comma-separated counts")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--window", type=int, default=4, help="WS bids in flight per socket")
    parser.add_argument("--wait-replicas", type=int, default=None, help="passed to the gateway")
    parser.add_argument("--paced", action="store_true", help="add REST x1 at 70%% of its peak")
    parser.add_argument("--acl-cost", action="store_true", help="add default-user rows")
    return parser.parse_args()


async def main() -> None:
    args = parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    env = stack_env()
    # The baselines log in as the stack's administrator (Redis' default user); the gateways
    # started here as their own ACL user, like every gateway.
    url = Stack(env).redis_url("us")
    redis = redis_client.connect(url)
    tokens = write_tokens(env, 200)
    wait = "off" if args.wait_replicas == 0 or not redis_url.has_replicas(url) else "on"
    rows: list[tuple[int, str, Row, Row]] = []
    rewrites = AofRewrites(Stack(env).run_dir)

    def add(conns: int, name: str, row: Row, base: Row) -> None:
        row["aof_rewrites"] = rewrites.since_last()
        rows.append((conns, name, row, base))

    for conns in (int(c) for c in args.connections.split(",")):
        with console.status(f"{conns} connections: raw EVALSHA"):
            base = await baseline(url, await open_bench_drop(redis), conns, args.seconds)
        add(conns, "raw EVALSHA, a connection per caller", base, base)
        with console.status(f"{conns} connections: pipelined EVALSHA"):
            piped = await pipelined_baseline(url, await open_bench_drop(redis), conns, args.seconds)
        add(conns, "pipelined EVALSHA, one connection", piped, base)
        if args.acl_cost:
            await acl_cost_rows(
                env,
                redis,
                add,
                conns=conns,
                seconds=args.seconds,
                wait_replicas=args.wait_replicas,
                base=base,
            )
        for workers in (int(w) for w in args.workers.split(",")):
            with running_gateway(env, workers, args.wait_replicas) as gw:
                with console.status(f"{conns} connections: REST x{workers}"):
                    drop = await open_bench_drop(redis)
                    rest = rest_load(gw, drop, conns, args.seconds, tokens)
                add(conns, f"gateway x{workers}, REST (wrk), WAIT {wait}", rest, base)
                with console.status(f"{conns} connections: WS x{workers}"):
                    drop = await open_bench_drop(redis)
                    ws = client_load(
                        "ws",
                        gw,
                        drop,
                        tokens,
                        connections=conns,
                        window=args.window,
                        seconds=args.seconds,
                    )
                name = f"gateway x{workers}, WS ({args.window} in flight/socket), WAIT {wait}"
                add(conns, name, ws, base)
                if args.paced and workers == 1 and conns == 16:
                    with console.status("REST x1 at 70 % of its peak"):
                        drop = await open_bench_drop(redis)
                        rate = 0.7 * rest["rps"]
                        paced = client_load(
                            "rest",
                            gw,
                            drop,
                            tokens,
                            connections=conns,
                            rate=rate,
                            seconds=args.seconds,
                        )
                    add(conns, f"gateway x1, REST paced at {rate:,.0f}/s", paced, base)
    await redis.aclose()
    rewrites.close()
    os.unlink(tokens)
    print_table(
        f"Bid ack, {args.seconds:.0f} s per row, {os.cpu_count()} cores (each row's ratio is "
        "to the raw EVALSHA row of its connection count)",
        rows,
    )
    console.print("wrk and the WS rows are closed loop; the paced row is open loop (latency from")
    console.print("each request's scheduled time). p99 target: < 10 ms at 70 % of the peak.")


if __name__ == "__main__":
    asyncio.run(main())
