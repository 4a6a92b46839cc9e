"""The herd's result at a terminal: counts, latencies per region, the client's own cost and
every violation with its first offending records (rich tables).

Called by ``gavel herd`` and the dev stack's herd; formatting only, from a
:class:`gavel.herd.run.Result`.
"""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from gavel.herd.run import Result

SHOWN_RECORDS = 3


def tables(result: Result) -> list[Table]:
    v = result.verdict
    title = "[green]PASS[/]" if v.ok else "[red]FAIL[/]"
    h = result.herd
    run = Table(
        title=f"herd {h.drop_id}: {title}",
        caption=f"seed {h.seed}, profile {h.profile.name}, regions {', '.join(h.sizes.regions)}",
    )
    run.add_column("what")
    run.add_column("value", justify="right")
    for key, count in sorted(result.counts.items()):
        run.add_row(key, f"{count:,}")
    run.add_row("accepted bids", f"{v.accepted:,}")
    run.add_row("audit rows", f"{v.audit_rows:,}")
    for key, seconds in result.phases.items():
        run.add_row(f"{key} (s)", f"{seconds:.1f}")
    for key, us in result.cost().items():
        run.add_row(key, f"{us:,.0f}")
    rates = result.bid_rates()
    target = f"{rates['target']:,.0f}" if rates["target"] else "closed loop"
    run.add_row(
        "bids/s: target, mean, busiest second",
        f"{target}, {rates['mean']:,.0f}, {rates['busiest_second']:,.0f}",
    )
    busiest = max(result.processes, key=lambda p: p["cpu_s"] / max(p["wall_s"], 1e-9), default=None)
    if busiest is not None:
        share = 100 * busiest["cpu_s"] / max(busiest["wall_s"], 1e-9)
        run.add_row(
            "client processes (busiest: % of a core)", f"{len(result.processes)} ({share:.0f} %)"
        )
    lat = Table(title="latency (ms)")
    for col in ("what", "count", "p50", "p99", "max"):
        lat.add_column(col, justify="left" if col == "what" else "right")
    rows = [
        ("bid ack", v.ack),
        *((f"decision -> observer {r}", s) for r, s in v.observer_latency.items()),
        ("herd's own event loop lag", result.loop_lag),
    ]
    for name, s in rows:
        lat.add_row(name, f"{s.count:,}", f"{s.p50_ms:.1f}", f"{s.p99_ms:.1f}", f"{s.max_ms:.1f}")
    out = [run, lat]
    if result.regions:
        out.append(regions_table(result))
    if v.violations:
        bad = Table(title="[red]violations[/]")
        for col in ("kind", "count", "first records"):
            bad.add_column(col)
        for viol in v.violations:
            shown = "\n".join(json.dumps(r, default=str) for r in viol.records[:SHOWN_RECORDS])
            bad.add_row(viol.kind.value, str(viol.count), shown)
        out.append(bad)
    return out


def regions_table(result: Result) -> Table:
    """Per region: what its observers were sent, and how fresh it was when it arrived."""
    t = Table(title="observers per region (staleness: age of each price when shown)")
    for col in ("region", "observers", "deliveries", "resyncs", "skipped", "stale p50", "p99"):
        t.add_column(col, justify="left" if col == "region" else "right")
    for region, f in result.regions.items():
        stale = f["staleness_ms"]
        t.add_row(
            region,
            f"{f['observers']:,}",
            f"{f['deliveries']:,}",
            f"{f['resyncs']:,}",
            f"{100 * f['skipped_share']:.1f} %",
            f"{stale['p50_ms']:.1f}",
            f"{stale['p99_ms']:.1f}",
        )
    return t


def print_result(result: Result, console: Console | None = None) -> None:
    console = console or Console()
    for table in tables(result):
        console.print(table)
