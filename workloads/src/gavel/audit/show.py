"""``gavel audit show``: a drop's audit trail as a readable table or as JSON lines.

Called by :func:`gavel.cli.audit_commands.audit_show`. Reads Cassandra directly (no writer
needed) through :mod:`gavel.audit.reading`, one page at a time. The formatting functions are
pure; :func:`show` connects, reads and prints.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from gavel.auction import Outcome
from gavel.audit import reading
from gavel.audit.rows import Attempt
from gavel.audit.settings import CassandraTarget
from gavel.audit.store import AuditStore


def format_time(ms: int) -> str:
    """``2026-11-28 10:00:00.123`` (UTC)."""
    stamp = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return stamp.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


def _money(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def table(drop: str, attempts: Iterable[Attempt], caption: str | None = None) -> Table:
    """The attempts as a rich table, in the order given (time order from the reader)."""
    t = Table(title=f"Audit trail of {drop} (UTC, amounts in minor units)", caption=caption)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("decided", "left"),
        ("outcome", "left"),
        ("bidder", "left"),
        ("bid id", "left"),
        ("amount", "right"),
        ("seq", "right"),
        ("high bid", "right"),
        ("leader", "left"),
        ("min next", "right"),
        ("reserve", "center"),
        ("region", "left"),
        ("took ms", "right"),
        ("event id", "left"),
    )
    for name, justify in columns:
        t.add_column(name, justify=justify, no_wrap=name in ("decided", "event id"))
    for a in attempts:
        e, d = a.event, a.event.decision
        accepted = d.outcome is Outcome.ACCEPTED
        outcome = Text("accepted", style="green") if accepted else Text(d.reason, style="red")
        t.add_row(
            format_time(d.decided_ms),
            outcome,
            e.bidder,
            e.bid_id,
            _money(e.amount),
            str(d.seq),
            _money(d.high_bid),
            d.leader or "",
            _money(d.min_next),
            "met" if d.reserve_met else "",
            e.region,
            str(d.decided_ms - e.received_ms),
            e.event_id,
        )
    return t


def json_lines(attempts: Iterable[Attempt]) -> Iterable[str]:
    """One compact JSON object per attempt (the audit API's fields)."""
    for a in attempts:
        yield json.dumps(a.to_json(), separators=(",", ":"), ensure_ascii=False)


async def _read(
    store: AuditStore,
    *,
    drop: str,
    filters: reading.Filters,
    cursor: reading.Cursor | None,
    limit: int,
    everything: bool,
    out: TextIO,
    as_json: bool,
) -> int:
    console = Console(file=out)
    shown = 0
    while True:
        page = await reading.read_page(store, drop, filters=filters, cursor=cursor, limit=limit)
        shown += len(page.attempts)
        more = page.next_token is not None
        if as_json:
            for line in json_lines(page.attempts):
                out.write(line + "\n")
        elif page.attempts or shown == 0:
            caption = None
            if more and not everything:
                caption = f"more: gavel audit show {drop} --page-token {page.next_token}"
            console.print(table(drop, page.attempts, caption))
        if not (more and everything):
            return shown
        cursor = reading.Cursor.from_token(page.next_token or "")


def show(
    target: CassandraTarget,
    drop: str,
    *,
    filters: reading.Filters,
    cursor: reading.Cursor | None,
    limit: int,
    everything: bool,
    as_json: bool,
    out: TextIO,
) -> int:
    """Print one page (or every page) of ``drop``'s trail; returns the attempts shown."""
    reading.check_limit(limit)
    store = AuditStore.open(target)
    try:
        return asyncio.run(
            _read(
                store,
                drop=drop,
                filters=filters,
                cursor=cursor,
                limit=limit,
                everything=everything,
                out=out,
                as_json=as_json,
            )
        )
    finally:
        store.close()
