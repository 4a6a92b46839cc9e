"""Bid gateway benchmark: bids/s and ack latency over real HTTP, against EVALSHA directly.

What it measures, in one run on one machine:

1. **baseline** — the same ``place_bid.lua`` called with ``EVALSHA`` from Python (the floor any
   gateway pays: one Redis round trip per bid), with ``--connections`` concurrent callers;
2. **gateway xN** — ``gavel gateway --workers N`` for each N in ``--workers``, loaded by ``wrk``
   with ``--connections`` keep-alive connections and bidder tokens spread over 200 bidders, all
   bidding on one hot drop; when the region has replicas, once with ``WAIT`` (the default: a
   201 only once the replicas hold the decision) and once without (``--wait-replicas 0``).

It prints bids/s, p50/p99 latency and each row's throughput as a ratio of the baseline. Numbers
and how they were obtained are kept in docs/performance.md.

Run (needs the local stack's Redis and wrk, ``apt-get install wrk``)::

    scripts/stack up --only redis --regions 1   # a primary, two replicas, three Sentinels
    .venv/bin/python -m bench.gateway --seconds 10 --connections 16 --workers 1,2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from redis.asyncio import Redis
from rich.console import Console
from rich.table import Table

from gavel import auction, bidding, drops, endpoints, redis_client, redis_url
from gavel.gateway import auth
from gavel_devstack.harness.processes import free_port, stack_env

ROOT = Path(__file__).resolve().parents[1]

console = Console(width=150)
UNLIMITED = auction.RateLimit(burst=10**9, per_second=10**9)


async def open_bench_drop(redis: Redis) -> str:
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


def write_tokens(secret: str, bidders: int) -> Path:
    """A file of bidder tokens, one per line, for the wrk script."""
    fd, name = tempfile.mkstemp(prefix="gavel-bench-tokens-")
    with os.fdopen(fd, "w") as f:
        f.writelines(auth.mint(secret, f"bidder-{i}") + "\n" for i in range(bidders))
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


def run_gateway_load(
    env: dict[str, str],
    drop: str,
    *,
    workers: int,
    connections: int,
    seconds: float,
    tokens_file: Path,
    wait_replicas: int | None = None,
) -> dict[str, float]:
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
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gateway did not become ready")
            time.sleep(0.2)
        time.sleep(0.5 * workers)  # let every worker come up before loading
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{int(seconds)}s",
                "--latency",
                "-s",
                str(ROOT / "bench" / "wrk_bids.lua"),
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "GAVEL_BENCH_TOKENS": str(tokens_file), "GAVEL_BENCH_DROP": drop},
        )
        return parse_wrk(out.stdout)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        shutil.rmtree(outbox, ignore_errors=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    env = stack_env()
    url = env[endpoints.redis_url_var("us")]
    redis = redis_client.connect(url)
    tokens_file = write_tokens(env[endpoints.JWT_SECRET], 200)
    rows = []
    with console.status("baseline: EVALSHA from Python"):
        base = await baseline(url, await open_bench_drop(redis), args.connections, args.seconds)
    rows.append(("baseline: EVALSHA direct", base))
    # With replicas (a Sentinel URL) the gateway waits for them by default; the same run without
    # WAIT puts a ratio on what replication acknowledgement costs.
    replicated = redis_url.has_replicas(url)
    variants = [(None, "WAIT on"), (0, "WAIT off")] if replicated else [(None, "single server")]
    for workers in (int(w) for w in args.workers.split(",")):
        for wait_replicas, label in variants:
            with console.status(f"gateway x{workers}, {label}, under wrk"):
                drop = await open_bench_drop(redis)
                result = run_gateway_load(
                    env,
                    drop,
                    workers=workers,
                    connections=args.connections,
                    seconds=args.seconds,
                    tokens_file=tokens_file,
                    wait_replicas=wait_replicas,
                )
            rows.append((f"gateway x{workers} (HTTP, wrk), {label}", result))
    await redis.aclose()
    os.unlink(tokens_file)

    table = Table(
        title=f"Bid ack: {args.connections} connections, {args.seconds:.0f} s each, "
        f"{os.cpu_count()} cores"
    )
    for col in ("scenario", "bids/s", "p50 ms", "p99 ms", "bids", "x baseline"):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    for name, r in rows:
        table.add_row(
            name,
            f"{r['rps']:,.0f}",
            f"{r['p50']:.2f}",
            f"{r['p99']:.2f}",
            f"{int(r['n']):,}",
            f"{r['rps'] / base['rps']:.2f}",
        )
    console.print(table)
    console.print(
        "p99 target for the gateway: < 10 ms at its sustained rate "
        "(wrk is closed-loop: each connection waits for its answer)."
    )


if __name__ == "__main__":
    asyncio.run(main())
