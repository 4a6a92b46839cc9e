"""Fan-out benchmark: Gavel's fan-out against Centrifugo v6, same client, same messages.

For each server — ``gavel fanout``, the same feeds served by ``websockets``' own server and
``broadcast()`` (bench/fanout_websockets.py, the baseline the WebSocket design was chosen
against) and Centrifugo — one drop/channel, ``--conns`` observer sockets held by one Go client
(bench/fanout_client, built here), then ``--messages`` price messages published at
``--rate`` per second — to Kafka's ``gavel.price`` for Gavel (as the relay would), to
Centrifugo's HTTP publish API for Centrifugo, with identical JSON payloads. Reported per server:
deliveries, deliveries/s, the server process's CPU seconds, **deliveries per CPU-second** (the
per-core figure the goal is stated in), and delivery latency p50/p99 (publish -> client). The
last column is Gavel / Centrifugo.

Gavel's latency includes a Kafka hop that Centrifugo's does not (its publish is direct); the
per-core figure counts only the serving process's CPU in both cases.

Under overload the latency columns are **staleness**: the age of each price an observer was
shown when it arrived, Gavel's resync snapshots included (a fan-out that is behind skips to the
newest price, docs/fanout.md), and "skipped %" is the share of prices an observer never got as
a price (skipped to the latest by Gavel, lost by the others). Gavel runs twice: as configured
(``--max-stale-ms``, default 500) and broadcasting every price (``inf``), the same-run baseline
of what skipping buys. ``--servers gavel`` leaves the other servers out.

Run (needs the stack's Kafka; builds Centrifugo v6.9.1 once into ~/.cache/gavel)::

    scripts/stack up --only kafka --regions 1
    .venv/bin/python -m bench.fanout --conns 10000 --messages 200 --rate 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from bench.go_tools import go_tool
from gavel import endpoints, kafka_auth, kafka_clients, topics
from gavel.events import PriceEvent
from gavel_devstack.harness.fanout import price_event
from gavel_devstack.harness.processes import free_port, stack_env
from gavel_devstack.harness.stack_env import stack_kafka_auth
from gavel_devstack.install import cache_dir

ROOT = Path(__file__).resolve().parents[1]
CENTRIFUGO_VERSION = "v6.9.1"
API_KEY = "bench-api-key"
console = Console(width=170)


def build_tools(*, centrifugo: bool) -> tuple[Path, Path]:
    """The Go client (rebuilt when its source changes) and Centrifugo (built once, if asked)."""
    client = go_tool("fanout_client")
    centrifugo_dir = cache_dir() / f"centrifugo-{CENTRIFUGO_VERSION}"
    if centrifugo:
        subprocess.run(
            [
                "bash",
                str(ROOT / "scripts" / "lib" / "build-centrifugo.sh"),
                CENTRIFUGO_VERSION,
                str(centrifugo_dir),
            ],
            check=True,
        )
    return client, centrifugo_dir / "bin" / "centrifugo"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready")


@contextmanager
def server(argv: list[str], health: str, env: dict[str, str] | None = None) -> Iterator[int]:
    proc = subprocess.Popen(
        argv,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(health)
        yield proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def price_payload(drop: str, seq: int) -> PriceEvent:
    return price_event(drop, seq, base=100_000)


async def publish_kafka(bootstrap: str, drop: str, messages: int, rate: float) -> float:
    producer = kafka_clients.make_producer(
        bootstrap, "bench-fanout", stack_kafka_auth(kafka_auth.RELAY)
    )
    await producer.start()
    try:
        began = time.perf_counter()
        for seq in range(1, messages + 1):
            await producer.send_and_wait(
                topics.PRICE, price_payload(drop, seq).to_json(), key=drop.encode()
            )
            await asyncio.sleep(max(0.0, began + seq / rate - time.perf_counter()))
        return time.perf_counter() - began
    finally:
        await producer.stop()


def publish_centrifugo(base: str, drop: str, messages: int, rate: float) -> float:
    with httpx.Client(base_url=base, headers={"X-API-Key": API_KEY}) as http:
        began = time.perf_counter()
        for seq in range(1, messages + 1):
            body = {"channel": drop, "data": json.loads(price_payload(drop, seq).to_json())}
            http.post("/api/publish", json=body).raise_for_status()
            time.sleep(max(0.0, began + seq / rate - time.perf_counter()))
        return time.perf_counter() - began


@dataclass(frozen=True)
class Target:
    """Where the client connects: a server's observer URL, its protocol and the drop."""

    url: str
    mode: str
    drop: str


def run_client(client: Path, target: Target, conns: int, messages: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            str(client),
            "-url",
            target.url,
            "-mode",
            target.mode,
            "-channel",
            target.drop,
            "-conns",
            str(conns),
            "-expect",
            str(messages),
            "-timeout",
            "180s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        raise RuntimeError(f"client did not get ready: {line!r}")
    connected = int(line.split()[1])
    if connected < conns:
        console.print(f"[yellow]only {connected}/{conns} sockets connected[/]")
    return proc


def measure(
    client: Path,
    pid: int,
    target: Target,
    args: argparse.Namespace,
    publish: Callable[[], float],
) -> dict[str, float]:
    proc = run_client(client, target, args.conns, args.messages)
    cpu0 = cpu_seconds(pid)
    seconds = publish()
    assert proc.stdout is not None
    result = json.loads(proc.stdout.readline())
    cpu = cpu_seconds(pid) - cpu0
    rss_mib = _rss_mib(pid)
    proc.wait()
    received = result["received"]
    expected = max(1, result["connected"] * args.messages)
    return {
        "conns": result["connected"],
        "deliveries": received,
        "skipped_pct": 100 * (expected - received + result.get("resyncs", 0)) / expected,
        "per_s": received / seconds if seconds else 0.0,
        "cpu_s": cpu,
        "per_cpu_s": received / cpu if cpu else 0.0,
        "p50": result["p50_ms"],
        "p99": result["p99_ms"],
        "seconds": seconds,
        "rss_mib": rss_mib,
    }


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conns", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second")
    parser.add_argument("--max-stale-ms", type=float, default=500.0, help="gavel fanout's bound")
    parser.add_argument(
        "--servers",
        default="gavel,websockets,centrifugo",
        help="comma-separated: gavel (twice: skipping, and every price), websockets, centrifugo",
    )
    args = parser.parse_args()
    servers = set(args.servers.split(","))
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # servers and client inherit it
    if hard < args.conns + 1000:
        sys.exit(f"open-file limit {hard} is too low for {args.conns} sockets")
    env = stack_env()
    region = endpoints.regions(env)[0]
    bootstrap = env[endpoints.kafka_bootstrap_var(region)]
    with console.status("building the Go client and Centrifugo (first run only)"):
        client, centrifugo = build_tools(centrifugo="centrifugo" in servers)
    rows: dict[str, dict[str, float]] = {}

    if "gavel" in servers:
        for name, bound in (
            (f"gavel, skips > {args.max_stale_ms:g} ms", args.max_stale_ms),
            ("gavel, every price", float("inf")),
        ):
            rows[name] = measure_gavel(client, region, bootstrap, env, args, max_stale_ms=bound)

    if "websockets" in servers:
        rows["websockets broadcast()"] = measure_websockets(client, region, bootstrap, env, args)
    if "centrifugo" in servers:
        rows[f"centrifugo {CENTRIFUGO_VERSION}"] = measure_centrifugo(client, centrifugo, args)
    print_table(rows, args)


def measure_gavel(
    client: Path,
    region: str,
    bootstrap: str,
    env: dict[str, str],
    args: argparse.Namespace,
    *,
    max_stale_ms: float,
) -> dict[str, float]:
    port = free_port()
    drop = f"bench-{uuid.uuid4().hex[:8]}"
    argv = [sys.executable, "-m", "gavel", "fanout", "--region", region, "--port", str(port)]
    argv += ["--max-connections", str(args.conns + 100), "--max-stale-ms", str(max_stale_ms)]
    with (
        console.status(f"Gavel fan-out: {args.conns} sockets, {args.messages} messages"),
        server(argv, f"http://127.0.0.1:{port}/readyz", env) as pid,
    ):
        return measure(
            client,
            pid,
            Target(f"ws://127.0.0.1:{port}/v1/drops/{drop}/live", "gavel", drop),
            args,
            lambda: asyncio.run(publish_kafka(bootstrap, drop, args.messages, args.rate)),
        )


def measure_websockets(
    client: Path, region: str, bootstrap: str, env: dict[str, str], args: argparse.Namespace
) -> dict[str, float]:
    port = free_port()
    drop = f"bench-{uuid.uuid4().hex[:8]}"
    argv = [sys.executable, "-m", "bench.fanout_websockets", "--region", region]
    with (
        console.status(f"websockets broadcast(): {args.conns} sockets, {args.messages} messages"),
        server([*argv, "--port", str(port)], f"http://127.0.0.1:{port}/readyz", env) as pid,
    ):
        return measure(
            client,
            pid,
            Target(f"ws://127.0.0.1:{port}/v1/drops/{drop}/live", "gavel", drop),
            args,
            lambda: asyncio.run(publish_kafka(bootstrap, drop, args.messages, args.rate)),
        )


def measure_centrifugo(
    client: Path, centrifugo: Path, args: argparse.Namespace
) -> dict[str, float]:
    port = free_port()
    config = Path(tempfile.mkstemp(suffix=".json")[1])
    config.write_text(
        json.dumps(
            {
                "http_server": {"address": "127.0.0.1", "port": port},
                "log": {"level": "error"},
                "client": {"insecure": True, "allowed_origins": ["*"]},
                "http_api": {"key": API_KEY},
                "channel": {
                    "without_namespace": {
                        "allow_subscribe_for_client": True,
                        "allow_subscribe_for_anonymous": True,
                    }
                },
                "health": {"enabled": True},
            }
        )
    )
    drop = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        with (
            console.status(f"Centrifugo: {args.conns} sockets, {args.messages} messages"),
            server(
                [str(centrifugo), "--config", str(config)], f"http://127.0.0.1:{port}/health"
            ) as pid,
        ):
            return measure(
                client,
                pid,
                Target(f"ws://127.0.0.1:{port}/connection/websocket", "centrifugo", drop),
                args,
                lambda: publish_centrifugo(
                    f"http://127.0.0.1:{port}", drop, args.messages, args.rate
                ),
            )
    finally:
        config.unlink()


def print_table(rows: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    peer = rows.get(f"centrifugo {CENTRIFUGO_VERSION}")
    table = Table(
        title=f"Fan-out: {args.conns} observers on one drop, {args.messages} messages "
        f"at {args.rate:g}/s, {os.cpu_count()} cores (staleness: age of each price shown)"
    )
    for col in (
        "server",
        "sockets",
        "RSS MiB",
        "deliveries",
        "deliveries/s",
        "server CPU s",
        "deliveries/CPU-s",
        "skipped %",
        "stale p50 ms",
        "stale p99 ms",
        "per-core vs Centrifugo",
    ):
        table.add_column(col, justify="left" if col == "server" else "right")
    for name, r in rows.items():
        table.add_row(
            name,
            f"{r['conns']:,.0f}",
            f"{r['rss_mib']:,.0f}",
            f"{r['deliveries']:,.0f}",
            f"{r['per_s']:,.0f}",
            f"{r['cpu_s']:.2f}",
            f"{r['per_cpu_s']:,.0f}",
            f"{r['skipped_pct']:.1f}",
            f"{r['p50']:.0f}",
            f"{r['p99']:.0f}",
            f"{r['per_cpu_s'] / peer['per_cpu_s']:.2f}" if peer and peer["per_cpu_s"] else "-",
        )
    console.print(table)


if __name__ == "__main__":
    main()
