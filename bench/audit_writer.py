"""Audit writer benchmark: rows/s from Kafka into Cassandra, against direct inserts.

What it measures, in one run on one machine, in a throwaway keyspace of the local Cassandra:

1. **baseline** — the same kind of rows (one per bid event, same table, same prepared
   ``INSERT ... USING TIMESTAMP``) inserted straight from Python with cassandra-driver's
   ``execute_concurrent_with_args`` at ``--concurrency``: the floor of any writer, with no Kafka,
   no parsing, no offsets;
2. **writer, in flight N** — ``gavel audit-writer --max-in-flight N`` for each N of
   ``--in-flight``, draining a backlog of ``--rows`` bid events produced to ``gavel.audit``
   beforehand (a fresh consumer group positioned just before them). Timed from its first row
   until its committed offsets pass the last event (so every row was acknowledged), leaving
   start-up and group join out: the rate it sustains while catching up, the most it can take
   in steady state. Run with ``--durability-window 0``: the window delays commits, not
   writes, and would only add its 15 s to the timing.

Each scenario writes its own drops; the rows are counted back in Cassandra afterwards. It
prints rows/s and each scenario's rate as a ratio of the baseline. Numbers and how they were
obtained are kept in docs/performance.md ("Audit writer").

Run (needs the local stack's Kafka and Cassandra)::

    scripts/stack up
    .venv/bin/python -m bench.audit_writer --rows 50000 --in-flight 128,512,2048
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from cassandra.concurrent import execute_concurrent_with_args
from rich.console import Console
from rich.table import Table

from gavel import cassandra_auth, endpoints, kafka_auth, kafka_clients
from gavel.audit import schema
from gavel.audit.rows import attempt_from_event
from gavel.audit.settings import DEFAULT_GROUP, CassandraTarget, WriterSettings
from gavel.audit.store import AuditStore, connect
from gavel.events import BidEvent
from gavel_devstack.harness.audit import (
    drop_keyspace,
    end_offsets,
    group_at_end,
    make_event,
    metric,
    prepare_keyspace,
    produce_events,
    writer_process,
)
from gavel_devstack.harness.processes import free_port
from gavel_devstack.harness.stack_env import Stack

ROOT = Path(__file__).resolve().parents[1]
DROPS = 20
console = Console()


def stack_env() -> dict[str, str]:
    out = subprocess.run(
        [str(ROOT / "scripts" / "stack"), "env"], capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def events_for(prefix: str, rows: int) -> tuple[list[str], list[BidEvent]]:
    """``rows`` events over :data:`DROPS` fresh drops, 5 ms apart per drop (hot drops)."""
    drops = [f"{prefix}-{uuid.uuid4().hex[:8]}" for _ in range(DROPS)]
    base = int(time.time() * 1000) - 3_600_000
    per_drop = -(-rows // DROPS)
    events = [make_event(d, i, base_ms=base, step_ms=5) for i in range(per_drop) for d in drops][
        :rows
    ]
    return drops, events


def count_rows(store: AuditStore, drops: list[str]) -> int:
    ks, total = store.keyspace, 0
    for drop in drops:
        for row in store.session.execute(
            f"SELECT bucket FROM {ks}.{schema.BUCKETS} WHERE drop_id = %s",  # noqa: S608
            (drop,),
        ):
            total += store.session.execute(
                f"SELECT COUNT(*) FROM {ks}.{schema.ATTEMPTS} "  # noqa: S608
                "WHERE drop_id = %s AND bucket = %s",
                (drop, row.bucket),
            ).one()[0]
    return total


def baseline(store: AuditStore, events: list[BidEvent], concurrency: int) -> dict[str, float]:
    """Direct inserts of the events' rows (and their buckets, as the writer writes them)."""
    attempts = [attempt_from_event(e) for e in events]
    buckets = sorted({a.partition for a in attempts})
    store.session.execute(  # warm the connection pool
        f"SELECT * FROM {store.keyspace}.{schema.BUCKETS} LIMIT 1"  # noqa: S608
    )
    params = [(*a.values(), a.write_timestamp_us) for a in attempts]
    began = time.perf_counter()
    execute_concurrent_with_args(
        store.session, store._insert_bucket, buckets, concurrency=concurrency
    )
    results = execute_concurrent_with_args(
        store.session, store._insert, params, concurrency=concurrency, raise_on_first_error=True
    )
    elapsed = time.perf_counter() - began
    assert all(ok for ok, _ in results)
    return {"rows": len(params), "seconds": elapsed, "rps": len(params) / elapsed}


async def run_writer(
    env: dict[str, str],
    *,
    target: CassandraTarget,
    events: list[BidEvent],
    in_flight: int,
    log: Path,
) -> dict[str, float]:
    """Produce ``events``, start a writer on a fresh group just before them, and time it from
    its first row until its committed offsets pass the last of them. (Other suites may produce
    to the shared ``gavel.audit`` meanwhile: the writer writes those rows too, so the rate is,
    if anything, understated.)"""
    kafka = env[endpoints.kafka_bootstrap_var("us")]
    group = f"{DEFAULT_GROUP}-bench-{uuid.uuid4().hex[:8]}"
    await group_at_end(kafka, group)
    await produce_events(kafka, events)
    ends = await end_offsets(kafka)
    settings = WriterSettings(
        region="us",
        kafka_bootstrap=kafka,
        kafka_auth=kafka_auth.from_env(kafka_auth.AUDIT_WRITER, env),
        cassandra=target,
        migrate=False,  # the keyspace is the admin's (prepare_keyspace)
        port=free_port(),
        group_id=group,
        max_in_flight=in_flight,
        # Commits trail writes by the durability window (15 s by default); the rate of
        # writing does not depend on it, and timing to the commit would add it.
        durability_window_s=0.0,
    )
    watcher = kafka_clients.make_consumer(
        bootstrap=kafka,
        group_id=group,
        client_id="bench-audit-watcher",
        auth=kafka_auth.from_env(kafka_auth.ADMIN, env),
    )
    await watcher.start()
    watcher.assign(list(ends))
    proc = writer_process(settings, log)
    try:
        first_at = None
        deadline = time.monotonic() + 600
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"writer exited with {proc.returncode}; see {log}")
            try:
                written = await metric(settings.port, "gavel_audit_rows_written_total")
            except httpx.TransportError:
                written = 0
            now = time.perf_counter()
            if written > 0 and first_at is None:
                first_at, first_rows = now, written
            if first_at is not None:
                done = {tp: (await watcher.committed(tp)) or 0 for tp in ends}
                if all(done[tp] >= ends[tp] for tp in ends):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"writer wrote {written} of {len(events)} rows in 600 s")
            await asyncio.sleep(0.02)
        assert first_at is not None
        elapsed = now - first_at
        rows = len(events) - first_rows
        return {"rows": len(events), "seconds": elapsed, "rps": rows / elapsed}
    finally:
        await watcher.stop()
        proc.terminate()
        proc.wait(timeout=30)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=256, help="baseline concurrency")
    parser.add_argument("--in-flight", default="128,512,2048", help="writer --max-in-flight")
    args = parser.parse_args()
    env = stack_env()
    os.environ.update(env)
    stack = Stack(env)
    keyspace = f"audit_bench_{uuid.uuid4().hex[:8]}"
    prepare_keyspace(stack, keyspace)
    target = stack.cassandra_target(cassandra_auth.WRITER, keyspace)
    cluster, session = connect(target)
    store = AuditStore(cluster, session, keyspace)
    rows: list[tuple[str, dict[str, float], int]] = []
    log = Path(tempfile.gettempdir()) / f"{keyspace}-writer.log"
    try:
        with console.status("baseline: execute_concurrent_with_args"):
            drops, events = events_for("base", args.rows)
            base = await asyncio.to_thread(baseline, store, events, args.concurrency)
        rows.append(
            (
                f"baseline: driver direct, concurrency {args.concurrency}",
                base,
                count_rows(store, drops),
            )
        )
        for n in (int(x) for x in args.in_flight.split(",")):
            with console.status(f"writer, max in flight {n}"):
                drops, events = events_for(f"w{n}", args.rows)
                result = await run_writer(env, target=target, events=events, in_flight=n, log=log)
            rows.append(
                (f"audit-writer from Kafka, in flight {n}", result, count_rows(store, drops))
            )
    finally:
        store.close()
        drop_keyspace(stack, keyspace)

    table = Table(
        title=f"Audit rows into Cassandra: {args.rows:,} rows each, {os.cpu_count()} cores "
        "(Cassandra, Kafka and the writer share them)"
    )
    for col in ("scenario", "rows/s", "seconds", "rows in table", "x baseline"):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    for name, r, counted in rows:
        table.add_row(
            name,
            f"{r['rps']:,.0f}",
            f"{r['seconds']:.2f}",
            f"{counted:,}",
            f"{r['rps'] / base['rps']:.2f}",
        )
    console.print(table)
    console.print(f"writer log: {log}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
