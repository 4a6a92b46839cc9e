"""What the audit hash chain costs on the hot path: place_bid.lua with and without it.

Both scripts run in the same Redis in the same run: the real ``lua/place_bid.lua``, and the same
source with the block between ``-- chain: begin`` and ``-- chain: end`` cut out (it then writes
the outbox entry without a link, as before the chain). Rounds alternate the two so drift of
the shared machine hits both alike. Each round opens a fresh drop and calls ``EVALSHA`` from
Python with ``--connections`` concurrent callers for ``--seconds``, then reads Redis' own time
per call: the mean from ``INFO commandstats`` (``cmdstat_evalsha``) and the median from the slow
log (threshold 0 during the run, restored after), which a crowded machine's preemptions move
far less. That is the script's time in the single Redis thread, which bounds how many decisions
one drop can take per second.

Run (needs the local stack's Redis)::

    scripts/stack up --only redis --regions 1
    .venv/bin/python -m bench.chain --seconds 5 --rounds 3 --connections 8

Results and the command are kept in docs/performance.md ("Audit hash chain").
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time

from redis.asyncio import Redis
from rich.console import Console
from rich.table import Table

from bench.gateway import open_bench_drop
from gavel import auction, bidding, luascripts, redis_client
from gavel_devstack.harness.processes import stack_env
from gavel_devstack.harness.stack_env import Stack

console = Console(width=140)
UNLIMITED = auction.RateLimit(burst=10**9, per_second=10**9)
_CHAIN_BLOCK = re.compile(r"\n *-- chain: begin.*?-- chain: end[^\n]*", re.DOTALL)


def without_chain(source: str) -> str:
    """``source`` without its chain block (a ValueError if it has none)."""
    cut, count = _CHAIN_BLOCK.subn("", source)
    if count != 1:
        raise ValueError("place_bid.lua has no single '-- chain: begin ... -- chain: end' block")
    return cut


async def evalsha_stats(redis: Redis) -> tuple[int, int]:
    """(calls, microseconds) of EVALSHA since the server started."""
    stats = await redis.info("commandstats")
    row = stats.get("cmdstat_evalsha", {"calls": 0, "usec": 0})
    return int(row["calls"]), int(row["usec"])


async def slowlog_median_us(redis: Redis, sha: str) -> float:
    """Median duration (µs) of this script's calls in the slow log."""
    entries = await redis.slowlog_get(1_000_000)
    durations = sorted(
        int(e["duration"])
        for e in entries
        if len(e["command"].split()) > 1 and e["command"].split()[1] == sha.encode()
    )
    return float(durations[len(durations) // 2]) if durations else float("nan")


async def run_round(url: str, sha: str, connections: int, seconds: float) -> dict[str, float]:
    admin = redis_client.connect(url)
    drop = await open_bench_drop(admin)
    await admin.slowlog_reset()
    calls0, usec0 = await evalsha_stats(admin)
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def caller(n: int) -> None:
        client = redis_client.connect(url)
        i = 0
        try:
            while time.perf_counter() < stop:
                i += 1
                c = bidding.bid_call(
                    drop,
                    f"bidder-{n % 200}",
                    f"e{n}-{i}",
                    1_000 + i * connections + n,
                    event_id=f"{n}-{i}",
                    received_ms=0,
                    region="us",
                    limit=UNLIMITED,
                )
                t0 = time.perf_counter()
                await client.evalsha(sha, len(c.keys), *c.keys, *c.args)
                latencies.append(time.perf_counter() - t0)
        finally:
            await client.aclose()

    began = time.perf_counter()
    await asyncio.gather(*(caller(n) for n in range(connections)))
    elapsed = time.perf_counter() - began
    calls1, usec1 = await evalsha_stats(admin)
    median = await slowlog_median_us(admin, sha)
    await admin.aclose()
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
        "server_us": (usec1 - usec0) / max(1, calls1 - calls0),
        "median_us": median,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--region", default="us")
    args = parser.parse_args()
    url = Stack(stack_env()).redis_url(args.region)
    source = luascripts.script("place_bid").source
    admin = redis_client.connect(url)
    shas = {
        "with chain": await admin.script_load(source),
        "without chain": await admin.script_load(without_chain(source)),
    }
    saved = await admin.config_get("slowlog-*")
    await admin.config_set("slowlog-log-slower-than", 0)
    await admin.config_set("slowlog-max-len", 1_000_000)
    results: dict[str, list[dict[str, float]]] = {name: [] for name in shas}
    try:
        for r in range(args.rounds):
            order = list(shas) if r % 2 == 0 else list(reversed(shas))
            for name in order:
                with console.status(f"round {r + 1}/{args.rounds}: {name}"):
                    results[name].append(
                        await run_round(url, shas[name], args.connections, args.seconds)
                    )
    finally:
        for key, value in saved.items():
            await admin.config_set(key, value)
        await admin.slowlog_reset()
        await admin.aclose()
    table = Table(title=f"place_bid.lua, {args.connections} connections, {args.rounds} rounds")
    columns = ("script", "bids/s", "p50 ms", "p99 ms", "Redis µs mean", "µs median", "x without")
    for column in columns:
        table.add_column(column, justify="left" if column == "script" else "right")
    mean = {
        name: {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}
        for name, rows in results.items()
    }
    base = mean["without chain"]
    for name in ("without chain", "with chain"):
        m = mean[name]
        table.add_row(
            name,
            f"{m['rps']:,.0f}",
            f"{m['p50']:.2f}",
            f"{m['p99']:.2f}",
            f"{m['server_us']:.1f}",
            f"{m['median_us']:.1f}",
            f"{m['rps'] / base['rps']:.2f}",
        )
    console.print(table)
    ratios = sorted(
        w["median_us"] / wo["median_us"]
        for w, wo in zip(results["with chain"], results["without chain"], strict=True)
    )
    console.print("per round, median µs with / without: " + ", ".join(f"{r:.2f}" for r in ratios))
    chained = mean["with chain"]
    console.print(
        f"the chain adds {chained['median_us'] - base['median_us']:.1f} µs (median) / "
        f"{chained['server_us'] - base['server_us']:.1f} µs (mean) of Redis time per decision: "
        f"{chained['median_us'] / base['median_us']:.2f}x / "
        f"{chained['server_us'] / base['server_us']:.2f}x the script without it"
    )


if __name__ == "__main__":
    asyncio.run(main())
