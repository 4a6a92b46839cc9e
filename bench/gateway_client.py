"""Load client for bench/gateway.py: bidder WebSockets, or paced REST, in a process of its own.

Two modes, each printing one JSON line (``n``, ``rps``, ``p50``, ``p99`` in ms, ``errors``):

- ``ws``: ``--connections`` bidder sockets, each keeping ``--window`` bids in flight (results
  are matched by ``bid_id``); closed loop, so it finds the peak rate.
- ``rest``: ``--connections`` keep-alive HTTP/1.1 connections posting bids at ``--rate`` bids/s
  in total, each request sent at its scheduled time or as soon as its connection is free; the
  latency counts from the scheduled time, so a stalled server is not hidden (no coordinated
  omission). Used for "p99 at 70 % of the peak rate".

Run by bench/gateway.py as ``python -m bench.gateway_client ...``; never imported by the product.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import time
from pathlib import Path

import msgspec
import uvloop
import websockets


def summary(latencies: list[float], elapsed: float, errors: int) -> dict[str, float]:
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000

    return {
        "n": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": pct(0.5),
        "p99": pct(0.99),
        "errors": errors,
    }


async def ws_load(args: argparse.Namespace, tokens: list[str]) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + args.seconds
    counter = itertools.count()

    async def one(n: int) -> None:
        nonlocal errors
        url = f"{args.base.replace('http', 'ws', 1)}/v1/drops/{args.drop}/bidder"
        head = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
        sent: dict[str, float] = {}
        window = asyncio.Semaphore(args.window)
        async with websockets.connect(url, additional_headers=head, compression=None) as ws:

            async def reader() -> None:
                nonlocal errors
                async for raw in ws:
                    o = msgspec.json.decode(raw)
                    if o.get("type") != "result":
                        errors += o.get("type") == "error"
                        continue
                    t0 = sent.pop(o["bid_id"], None)
                    if t0 is not None:
                        latencies.append(time.perf_counter() - t0)
                        window.release()

            reading = asyncio.create_task(reader())
            while time.perf_counter() < stop:
                await window.acquire()
                i = next(counter)
                bid_id = f"s{args.tag}-{n}-{i}"
                sent[bid_id] = time.perf_counter()
                await ws.send(f'{{"bid_id":"{bid_id}","amount":{1_000 + i}}}')
            with contextlib.suppress(TimeoutError):  # the last answers, or give up on them
                for _ in range(args.window):
                    await asyncio.wait_for(window.acquire(), timeout=5)
            reading.cancel()

    began = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(args.connections)))
    return summary(latencies, time.perf_counter() - began, errors)


async def rest_load(args: argparse.Namespace, tokens: list[str]) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    host, port = args.base.removeprefix("http://").split(":")
    interval = args.connections / args.rate  # each connection's share of the schedule
    # Connections open before the schedule starts: a TCP handshake is not part of a bid's ack,
    # and counting it would put the first requests of every connection hundreds of ms late.
    streams = await asyncio.gather(
        *(asyncio.open_connection(host, int(port)) for _ in range(args.connections))
    )
    began = time.perf_counter()
    stop = began + args.seconds
    counter = itertools.count()

    async def one(n: int) -> None:
        nonlocal errors
        reader, writer = streams[n]
        token = tokens[n % len(tokens)]
        due = began + interval * n / args.connections
        while due < stop:
            now = time.perf_counter()
            if due > now:
                await asyncio.sleep(due - now)
            i = next(counter)
            body = f'{{"bid_id":"p{args.tag}-{n}-{i}","amount":{1_000 + i}}}'.encode()
            writer.write(
                f"POST /v1/drops/{args.drop}/bids HTTP/1.1\r\nHost: gateway\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - due)
            errors += not head.startswith((b"HTTP/1.1 201", b"HTTP/1.1 409"))
            due += interval
        writer.close()

    await asyncio.gather(*(one(n) for n in range(args.connections)))
    return summary(latencies, time.perf_counter() - began, errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["ws", "rest"])
    parser.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--drop", required=True)
    parser.add_argument("--tokens", type=Path, required=True, help="file, one token a line")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--window", type=int, default=4, help="ws: bids in flight per socket")
    parser.add_argument("--rate", type=float, default=1_000, help="rest: bids/s in total")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--tag", default="0", help="makes bid ids unique across clients")
    args = parser.parse_args()
    tokens = args.tokens.read_text().split()
    run = ws_load if args.mode == "ws" else rest_load
    print(json.dumps(uvloop.run(run(args, tokens))))


if __name__ == "__main__":
    main()
