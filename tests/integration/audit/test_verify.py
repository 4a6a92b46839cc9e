"""``gavel audit verify`` on a trail made for real: place_bid.lua decides, the real relay and
audit writer carry the decisions to Cassandra; then rows are edited, deleted and inserted in
Cassandra, and the command finds each."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from typing import Any

from gavel import endpoints, redis_client
from gavel.audit.rows import Attempt
from gavel.audit.schema import COLUMN_NAMES
from gavel.audit.store import AuditStore
from gavel_devstack.harness.audit import (
    event_ids,
    group_at_end,
    new_group,
    running_writer,
    trail,
    writer_settings,
)
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.relay import place_attempts, relay_settings, running_relay, with_db
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import wait_for

AUDIT_VERIFY_DB = 12
"""The relay here drains every drop of its Redis database: this test's own logical database."""

ATTEMPTS = 60


def by_position(rows: list[Attempt]) -> dict[int, Attempt]:
    return {a.event.chain.n: a for a in rows if a.event.chain is not None}


def key_of(a: Attempt) -> tuple[str, int, int, str]:
    return (a.event.drop, a.bucket, a.event.decision.decided_ms, a.event.event_id)


def break_lines(out: str, kind: str) -> list[str]:
    """The lines of the breaks table that show ``kind``."""
    return [line for line in out.splitlines() if f" {kind} " in line]


@dataclasses.dataclass
class Tamper:
    """What someone with write access to the audit keyspace can do to rows."""

    session: Any
    keyspace: str

    def _table(self) -> str:
        return f"{self.keyspace}.bid_attempts"

    def set_amount(self, a: Attempt, amount: int) -> None:
        cql = f"UPDATE {self._table()} SET amount = %s {WHERE}"  # noqa: S608
        self.session.execute(cql, (amount, *key_of(a)))

    def delete(self, a: Attempt) -> None:
        self.session.execute(f"DELETE FROM {self._table()} {WHERE}", key_of(a))  # noqa: S608

    def insert(self, a: Attempt) -> None:
        columns = ", ".join(COLUMN_NAMES)
        marks = ", ".join(["%s"] * len(COLUMN_NAMES))
        cql = f"INSERT INTO {self._table()} ({columns}) VALUES ({marks})"  # noqa: S608
        self.session.execute(cql, a.values())


WHERE = "WHERE drop_id = %s AND bucket = %s AND decided_ms = %s AND event_id = %s"


async def decided_trail(
    stack: Stack, kafka: str, store: AuditStore, keyspace: str
) -> tuple[str, str]:
    """A fresh drop with ATTEMPTS decisions, relayed and written: (drop id, its Redis URL)."""
    redis_url = with_db(stack.redis_url(stack.regions[0]), AUDIT_VERIFY_DB)
    redis = redis_client.connect(redis_url)
    try:
        drop = (await open_test_drop(redis)).drop_id
    finally:
        await redis.aclose()
    group = new_group()
    await group_at_end(kafka, group)
    async with (
        running_relay(relay_settings(redis_url, kafka)),
        running_writer(writer_settings(stack, keyspace, group)),
    ):
        placed = await place_attempts(redis_url, [drop], per_drop=ATTEMPTS)
        assert 0 < len(placed.accepted) < ATTEMPTS  # rejections are chained too

        async def all_written() -> bool:
            return len(await event_ids(store, [drop])) >= ATTEMPTS

        await wait_for(all_written, 60, "every attempt in Cassandra")
    return drop, redis_url


async def test_verify_finds_a_changed_a_removed_and_an_inserted_row(
    stack: Stack, kafka: str, store: AuditStore, audit_keyspace: str
) -> None:
    region = stack.regions[0]
    drop, redis_url = await decided_trail(stack, kafka, store, audit_keyspace)

    def verify(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **stack.env, "COLUMNS": "250"}
        env[endpoints.redis_url_var(region)] = redis_url  # this test's database
        command = ["audit", "verify", drop, "--keyspace", audit_keyspace, *args]
        return subprocess.run(
            [sys.executable, "-m", "gavel", *command],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=60,
        )

    async def run(*args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(verify, *args)

    intact = await run("--redis-region", region)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert f"chain of {drop} intact: #1..#{ATTEMPTS} ({ATTEMPTS} links)" in intact.stdout
    assert "anchored to drop's Redis" in intact.stdout

    rows = by_position(await trail(store, drop))
    assert sorted(rows) == list(range(1, ATTEMPTS + 1))
    tamper = Tamper(store.session, audit_keyspace)

    # 1. One row's amount edited in place.
    edited = rows[10]
    tamper.set_amount(edited, edited.event.amount + 10_000)
    out = await run()
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"BROKEN: first break at #10: row changed, event {edited.event.event_id}" in out.stdout
    assert [edited.event.event_id in line for line in break_lines(out.stdout, "changed")] == [True]

    # 2. Another row deleted.
    tamper.delete(rows[20])
    out = await run()
    assert out.returncode == 1
    (removed,) = break_lines(out.stdout, "removed")
    assert "1 row(s) missing at #20" in removed

    # 3. A row inserted: a copy of #30 with its own event id and a higher amount.
    copied = rows[30].event
    forged = dataclasses.replace(copied, event_id=copied.event_id + "-x", amount=copied.amount + 1)
    tamper.insert(dataclasses.replace(rows[30], event=forged))
    out = await run()
    assert out.returncode == 1
    (inserted,) = break_lines(out.stdout, "inserted")
    assert "#30" in inserted
    assert forged.event_id in inserted
    # The first break is still the first row that was changed, and all three are listed.
    assert "first break at #10: row changed" in out.stdout
    counts = [len(break_lines(out.stdout, k)) for k in ("changed", "removed", "inserted")]
    assert counts == [1, 1, 1]

    # 4. The last row cut off: invisible in the rows alone, found against the drop's Redis.
    tamper.delete(rows[ATTEMPTS])
    unanchored, anchored = await run(), await run("--redis-region", region)
    assert not any(f"#{ATTEMPTS}" in line for line in break_lines(unanchored.stdout, "removed"))
    assert "not anchored" in unanchored.stdout
    assert any(f"#{ATTEMPTS}" in line for line in break_lines(anchored.stdout, "removed"))
    assert anchored.returncode == 1
