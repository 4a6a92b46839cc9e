"""The audit writer against the real stack: every attempt exactly once, poison dead-lettered,
the audit API and ``gavel audit show``."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys

from gavel import topics
from gavel.audit.store import AuditStore
from gavel_devstack.harness.audit import (
    committed,
    end_offsets,
    event_ids,
    group_at_end,
    http_get,
    make_events,
    metric,
    new_group,
    produce,
    produce_events,
    running_writer,
    trail,
    writer_settings,
)
from gavel_devstack.harness.drops import new_drop_id
from gavel_devstack.harness.kafka import KafkaTail
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import wait_for


async def test_every_attempt_lands_exactly_once_even_when_replayed(
    stack: Stack, kafka: str, store: AuditStore, audit_keyspace: str
) -> None:
    group = new_group()
    await group_at_end(kafka, group)
    drops = [new_drop_id("audit"), new_drop_id("audit")]
    # 600 attempts 50 ms apart from 45 s into a minute: they span two one-minute buckets.
    base = 1_700_000_000_000 - 1_700_000_000_000 % 60_000 + 45_000
    events = [e for d in drops for e in make_events(d, 600, base_ms=base)]
    await produce_events(kafka, events)
    # The same events again: what a relay that crashed before its acknowledgement sends.
    await produce_events(kafka, events[:200])
    settings = writer_settings(stack, audit_keyspace, group)
    async with running_writer(settings):

        async def all_there() -> bool:
            return len(await event_ids(store, drops)) >= len(events)

        await wait_for(all_there, 60, "every attempt written")

        async def all_committed() -> bool:
            ends, done = await end_offsets(kafka), await committed(kafka, group)
            return all(done[tp] >= ends[tp] for tp in ends)

        await wait_for(all_committed, 30, "offsets committed to the end")
        # 1 200 rows, 200 of them written twice (same key, same values).
        assert await metric(settings.port, "gavel_audit_rows_written_total") == 1_400

        async def no_lag() -> bool:
            return await metric(settings.port, "gavel_audit_lag_records") == 0

        await wait_for(no_lag, 10, "lag gauge at 0")
    ids = await event_ids(store, drops)
    assert sorted(ids) == sorted(e.event_id for e in events)  # each once, none missing
    rows = {a.event.event_id: a for d in drops for a in await trail(store, d)}
    for event in events:
        expected = json.loads(event.to_json())
        expected["schema_v"] = expected.pop("v")
        assert rows[event.event_id].to_json() == expected
    assert {a.event.decision.outcome for a in rows.values()} == {"accepted", "rejected"}
    # Read back in time order, across the bucket boundary.
    for drop in drops:
        times = [a.event.decision.decided_ms for a in await trail(store, drop)]
        assert times == sorted(times)
        assert len({t // 60_000 for t in times}) >= 2


async def test_poison_is_dead_lettered_and_the_records_after_it_are_written(
    stack: Stack, kafka: str, store: AuditStore, audit_keyspace: str
) -> None:
    group = new_group()
    await group_at_end(kafka, group)
    drop = new_drop_id("audit")
    key = drop.encode()
    before, after = make_events(drop, 5), make_events(drop, 5, base_ms=1_700_000_000_000)
    wrong_type = json.loads(before[0].to_json()) | {"event_id": "bad-type", "amount": "12"}
    poison = [
        b"not json at all",
        b'{"v": 99, "event_id": "from-the-future"}',
        json.dumps(wrong_type).encode(),
    ]
    async with KafkaTail(kafka, (topics.AUDIT_DEAD_LETTER,), keys={key}) as tail:
        await produce_events(kafka, before)
        await produce(kafka, [(key, value) for value in poison])
        await produce_events(kafka, after)
        settings = writer_settings(stack, audit_keyspace, group)
        async with running_writer(settings):

            async def written() -> bool:
                return len(await event_ids(store, [drop])) >= 10

            await wait_for(written, 30, "the records around the poison written")
            await tail.until(lambda t: len(t.seen) >= 3, 30, "three dead letters")

            async def counted() -> bool:
                return await metric(settings.port, "gavel_audit_dead_letters_total") == 3

            await wait_for(counted, 10, "dead letters counted")

            async def all_committed() -> bool:
                ends, done = await end_offsets(kafka), await committed(kafka, group)
                return all(done[tp] >= ends[tp] for tp in ends)

            await wait_for(all_committed, 30, "the partition moved on past the poison")
    assert sorted(await event_ids(store, [drop])) == sorted(e.event_id for e in before + after)
    letters = [s.value for s in tail.seen]
    assert [base64.b64decode(letter["payload"]["value_base64"]) for letter in letters] == poison
    reasons = [letter["reason"] for letter in letters]
    assert "not JSON" in reasons[0]
    assert "unknown schema version 99" in reasons[1]
    assert "amount: expected an integer" in reasons[2]
    assert {letter["source"] for letter in letters} == {"audit-writer"}


async def test_audit_api_pages_and_filters_in_time_order(
    stack: Stack, kafka: str, store: AuditStore, audit_keyspace: str
) -> None:
    group = new_group()
    await group_at_end(kafka, group)
    drop = new_drop_id("audit")
    events = make_events(drop, 250)  # 50 ms apart: spans 1-2 minute buckets
    await produce_events(kafka, events)
    settings = writer_settings(stack, audit_keyspace, group)
    async with running_writer(settings):

        async def written() -> bool:
            return len(await event_ids(store, [drop])) >= 250

        await wait_for(written, 30, "attempts written")
        pages, token = [], None
        while True:
            query = "?limit=40" + (f"&page_token={token}" if token else "")
            response = await http_get(settings.port, f"/v1/audit/drops/{drop}{query}")
            assert response.status_code == 200, response.text
            body = response.json()
            pages.append(body["attempts"])
            token = body["next_page_token"]
            if token is None:
                break
        assert [len(p) for p in pages] == [40] * 6 + [10]
        seen = [a["event_id"] for p in pages for a in p]
        assert seen == [e.event_id for e in events]  # time order, nothing twice, none missing

        response = await http_get(
            settings.port, f"/v1/audit/drops/{drop}?bidder=bidder-1&outcome=rejected&limit=1000"
        )
        filtered = response.json()["attempts"]
        expected = [
            e.event_id
            for e in events
            if e.bidder == "bidder-1" and e.decision.outcome.value == "rejected"
        ]
        assert [a["event_id"] for a in filtered] == expected
        assert expected
        bad = await http_get(settings.port, f"/v1/audit/drops/{drop}?outcome=won")
        assert bad.status_code == 400
        assert bad.json()["code"] == "invalid_query"
        unknown = await http_get(settings.port, "/v1/audit/drops/no-such-drop")
        assert unknown.json() == {"drop": "no-such-drop", "attempts": [], "next_page_token": None}


async def test_gavel_audit_show_prints_a_table_and_json_lines(
    stack: Stack, kafka: str, store: AuditStore, audit_keyspace: str
) -> None:
    group = new_group()
    await group_at_end(kafka, group)
    drop = new_drop_id("audit")
    events = make_events(drop, 12)
    await produce_events(kafka, events)
    async with running_writer(writer_settings(stack, audit_keyspace, group)):

        async def written() -> bool:
            return len(await event_ids(store, [drop])) >= 12

        await wait_for(written, 30, "attempts written")

    def show(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "gavel",
                "audit",
                "show",
                drop,
                "--keyspace",
                audit_keyspace,
                *args,
            ],
            capture_output=True,
            text=True,
            env={**os.environ, **stack.env, "COLUMNS": "250"},
            check=False,
            timeout=60,
        )

    lines = await asyncio.to_thread(show, "--json", "--all", "--limit", "5")
    assert lines.returncode == 0, lines.stderr
    assert [json.loads(line)["event_id"] for line in lines.stdout.splitlines()] == [
        e.event_id for e in events
    ]
    table = await asyncio.to_thread(show, "--limit", "5", "--outcome", "accepted")
    assert table.returncode == 0, table.stderr
    assert f"Audit trail of {drop}" in table.stdout
    accepted = [e for e in events if e.decision.outcome.value == "accepted"]
    assert accepted[0].event_id in table.stdout
    assert accepted[5].event_id not in table.stdout  # one page of five
    assert "--page-token" in table.stdout
    token = table.stdout.split("--page-token", 1)[1].split()[0]
    rest = await asyncio.to_thread(show, "--json", "--outcome", "accepted", "--page-token", token)
    assert [json.loads(line)["event_id"] for line in rest.stdout.splitlines()] == [
        e.event_id for e in accepted[5:]
    ]
    bad = await asyncio.to_thread(show, "--outcome", "won")
    assert bad.returncode == 2
    assert "accepted or rejected" in bad.stderr
