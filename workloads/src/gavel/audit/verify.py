"""``gavel audit verify``: read a drop's rows, check its hash chain, print what broke.

Called by :func:`gavel.cli.audit_commands.audit_verify`. Reads every row of the drop from
Cassandra (:mod:`gavel.audit.reading`), optionally the chain's head from the drop's state in
its home region's Redis (the anchor), checks them with :mod:`gavel.audit.chain_check` (pure)
and prints the report with rich. :func:`render` is pure.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from gavel import keys, redis_client, state_hash
from gavel.audit import reading
from gavel.audit.chain_check import Anchor, Finding, Kind, Report, check
from gavel.audit.settings import CassandraTarget
from gavel.audit.store import AuditStore
from gavel.chain import HASH_PATTERN
from gavel.events import BidEvent

_STYLE = {
    Kind.CHANGED: "bold red",
    Kind.REPLACED: "bold red",
    Kind.REMOVED: "bold magenta",
    Kind.INSERTED: "bold yellow",
    Kind.FORKED: "yellow",
}


def parse_anchor(text: str) -> Anchor:
    """``N:HASH`` (a head as ``gavel audit verify`` prints it, or a bidder's receipt)."""
    n, sep, digest = text.partition(":")
    if not sep or not n.isdigit() or int(n) < 1 or not HASH_PATTERN.match(digest):
        raise ValueError(f"invalid head {text!r}: expected N:HASH, e.g. 42:{'0' * 40}")
    return Anchor(int(n), digest, "given head")


def _time(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.")
        + f"{ms % 1000:03d}"
    )


def _row(e: BidEvent | None) -> tuple[str, str, str, str]:
    if e is None:
        return ("", "", "", "")
    d = e.decision
    what = f"{d.outcome} {e.amount:,}" if d.reason == "accepted" else f"{d.reason} {e.amount:,}"
    return (_time(d.decided_ms), e.bidder, what, e.event_id)


def _headline(report: Report) -> Text:
    if report.ok:
        span = ""
        if report.head is not None and report.head.chain is not None:
            span = f" #{report.first_n}..#{report.head.chain.n}"
        return Text(f"chain of {report.drop} intact:{span} ({report.chained} links)", "bold green")
    first = report.findings[0]
    where = f"#{first.n}" if first.n is not None else "outside the chain"
    row = f", event {first.event.event_id}" if first.event is not None else ""
    return Text(
        f"chain of {report.drop} BROKEN: first break at {where}: row {first.kind}{row}",
        "bold red",
    )


def findings_table(findings: list[Finding]) -> Table:
    t = Table(title="Breaks, in chain order", title_justify="left")
    for name in ("#", "kind", "decided (UTC)", "bidder", "decision", "event id", "what"):
        t.add_column(name, no_wrap=name in ("#", "event id"))
    for f in findings:
        pos = "" if f.n is None else f"#{f.n}" if f.last in (None, f.n) else f"#{f.n}..#{f.last}"
        t.add_row(
            pos, Text(str(f.kind), _STYLE[f.kind]), *_row(f.event)[:3], _row(f.event)[3], f.detail
        )
    return t


def render(report: Report) -> RenderableType:
    """The report as printed: a headline, the figures, the breaks, and what was not checked."""
    parts: list[RenderableType] = [_headline(report)]
    head = report.head.chain if report.head is not None else None
    lines = [
        f"rows read: {report.rows}; on the chain: {report.chained}; "
        f"edge decisions (no chain by design): {report.edge}",
    ]
    if head is not None:
        lines.append(f"head: {head.n}:{head.hash}")
    if report.anchor is not None:
        lines.append(f"anchored to {report.anchor.source}: {report.anchor.n}:{report.anchor.hash}")
    else:
        lines.append(
            "not anchored: rows cut from the end, or forged after it, show only against the "
            "head held elsewhere (--redis-region, or --head N:HASH from a receipt)"
        )
    parts.append(Text("\n".join(lines)))
    if report.findings:
        parts.append(findings_table(report.findings))
        if any(f.kind is Kind.FORKED for f in report.findings):
            parts.append(
                Text(
                    "forked: a decision chained to a real predecessor that the chain does not go "
                    "on from; a Redis failover can leave one (docs/audit.md), so can a forgery."
                )
            )
    return Group(*parts)


async def _read_events(store: AuditStore, drop: str) -> list[BidEvent]:
    events: list[BidEvent] = []
    cursor = None
    while True:
        page = await reading.read_page(store, drop, cursor=cursor, limit=reading.MAX_LIMIT)
        events.extend(a.event for a in page.attempts)
        if page.next_token is None:
            return events
        cursor = reading.Cursor.from_token(page.next_token)


async def redis_anchor(redis_url: str, drop: str) -> Anchor | None:
    """The chain's head as the drop's state in its home region's Redis holds it."""
    client = redis_client.connect(redis_url)
    try:
        raw = await client.hgetall(keys.for_drop(drop).state)
    finally:
        await client.aclose()
    head = state_hash.chain_head(raw)
    return Anchor(head[0], head[1], "drop's Redis") if head else None


def verify(
    target: CassandraTarget,
    drop: str,
    *,
    anchor: Anchor | None,
    out: TextIO,
    width: int | None = None,
) -> Report:
    """Check ``drop``'s chain in Cassandra (against ``anchor`` if given) and print the report."""
    store = AuditStore.open(target)
    try:
        events = asyncio.run(_read_events(store, drop))
    finally:
        store.close()
    report = check(drop, events, anchor)
    Console(file=out, width=width).print(render(report))
    return report
