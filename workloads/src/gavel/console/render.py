"""The merch console's screens as rich renderables. Pure: data in, renderable out.

:func:`watch_view` draws one :class:`~.snapshot.Frame` of ``gavel drops watch`` (the live view
redraws it every second; ``--once`` prints one); :func:`drops_table` is ``gavel drops list``.
Unit tests render these into a recording console and read the text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gavel.console.snapshot import Frame, ListRow, Observed, Scrape, clock, duration, money

PHASE_STYLE = {
    "Scheduled": "cyan",
    "PreScaling": "yellow",
    "Live": "bold green",
    "Closed": "bold blue",
    "Failed": "bold red",
    "Cancelled": "red",
}


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _scraped(s: Scrape | None, unit: str = "") -> Text:
    if s is None:
        return Text("not given", style="dim")
    if s.value is None:
        return Text(s.error or "no data", style="red")
    return Text(f"{s.value:,.0f}{unit}")


def _overview(f: Frame) -> Table:
    r, d = f.readings.redis, f.readings.drop
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    phase = Text(f.phase, style=PHASE_STYLE.get(f.phase, ""))
    if f.phase_source == "redis":
        phase.append("  (no operator: from Redis)", style="dim")
    t.add_row("phase", phase)
    if f.readings.hub_error:
        t.add_row("hub", Text(f.readings.hub_error, style="red"))
    t.add_row("home", d.home)
    t.add_row("regions ready", d.regions_ready or "—")
    if r is None:
        t.add_row("price", Text(f.readings.redis_error or "not opened in Redis", style="red"))
        return t
    t.add_row("countdown", Text(f.countdown, style="bold"))
    t.add_row("price", Text(money(r.high_bid, r.currency), style="bold magenta"))
    t.add_row("leader", r.leader_alias or "—")
    reserve = "met" if r.high_bid is not None and r.high_bid >= r.reserve else "not met"
    t.add_row("reserve", f"{reserve} ({money(r.reserve, r.currency)})")
    t.add_row("bids", f"{r.counts.bids:,} accepted of {r.counts.attempts:,} attempts")
    t.add_row("bids/s", f"{_rate(f.bids_per_s)}  (attempts/s {_rate(f.attempts_per_s)})")
    return t


def _refusals(f: Frame) -> Table:
    t = Table(title="refusals by reason", title_justify="left", expand=True)
    t.add_column("reason")
    t.add_column("attempts", justify="right")
    r = f.readings.redis
    refused = dict(r.counts.refused) if r is not None else {}
    for reason, n in sorted(refused.items(), key=lambda kv: (-kv[1], kv[0])):
        t.add_row(reason, f"{n:,}")
    if not refused:
        t.add_row(Text("none", style="dim"), "0")
    return t


def _observers(observers: Mapping[str, Observed]) -> Table:
    t = Table(title="observers by region", title_justify="left", expand=True)
    t.add_column("region")
    t.add_column("now", justify="right")
    t.add_column("peak", justify="right")
    for region, seen in sorted(observers.items()):
        if seen.figures is None:
            t.add_row(region, Text(seen.error or "no data", style="red"), "")
        else:
            t.add_row(region, f"{seen.figures.current:,}", f"{seen.figures.peak:,}")
    return t


def _pipeline(f: Frame) -> Table:
    t = Table(title="pipeline (outbox → Kafka → Cassandra)", title_justify="left", expand=True)
    t.add_column("stage", no_wrap=True)
    t.add_column("waiting", justify="right")
    r = f.readings.redis
    if r is not None:
        age = ""
        if r.oldest_backlog_ms is not None:
            age = f", oldest {duration(r.now_ms - r.oldest_backlog_ms)}"
        t.add_row("relay backlog", f"{r.backlog:,} entries{age}")
    lag = f.readings.audit_lag
    if not lag:
        t.add_row("audit lag", Text("not given", style="dim"))
    for name, scrape in sorted(lag.items()):
        t.add_row(f"audit lag {name}", _scraped(scrape, " records"))
    return t


def watch_view(f: Frame) -> RenderableType:
    """One frame: the drop's standing on the left, where its crowd and its records are on the
    right."""
    d, r = f.readings.drop, f.readings.redis
    title = Text(d.name, style="bold")
    if d.title:
        title.append(f"  {d.title}", style="italic")
    body = Table.grid(expand=True, padding=(0, 2))
    body.add_column(ratio=1)
    body.add_column(ratio=1)
    body.add_row(
        Group(_overview(f), Text(""), _refusals(f)),
        Group(_observers(f.readings.observers), _pipeline(f)),
    )
    footer = f"read {clock(r.now_ms)} UTC (home Redis clock)" if r is not None else ""
    return Panel(body, title=title, subtitle=footer, border_style="blue")


def drops_table(rows: Iterable[ListRow]) -> Table:
    t = Table(title="Drops on the hub (amounts in the drop's currency)")
    for name, justify in (
        ("drop", "left"),
        ("namespace", "left"),
        ("phase", "left"),
        ("starts", "left"),
        ("ends", "left"),
        ("home", "left"),
        ("high bid", "right"),
        ("regions ready", "right"),
    ):
        t.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        phase = row.phase.split(" ")[0]
        t.add_row(
            row.name,
            row.namespace,
            Text(row.phase, style=PHASE_STYLE.get(phase, "")),
            row.starts,
            row.ends,
            row.home,
            row.high_bid,
            row.regions_ready,
        )
    return t
