"""The herd's report: one self-contained HTML file with plots, built from the run's JSON.

Called by ``gavel herd --report`` and the dev stack's herd (``scripts/herd``, ``scripts/demo``)
with the same document they write as ``--json`` (:meth:`gavel.herd.run.Result.as_json`, plus
the faults and workload events the dev stack adds), so a report can be rebuilt from a saved
result. Pure apart from :func:`write`: a document in, HTML out.

Plots (plotly, its JavaScript inlined once, so the file opens offline and can be mailed): bid
answers per second by outcome, observers connected, deliveries and skipped prices per second,
the stalest price shown each second, and the latency distributions per region (bid
acknowledgement; decision -> observer). Every time axis carries the drop's phases and every
fault and recovery as vertical marks.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from gavel.herd.series import MarkKind, Series

MARK_STYLE = {
    MarkKind.PHASE.value: {"line_color": "#888", "line_dash": "dot"},
    MarkKind.FAULT.value: {"line_color": "#d62728", "line_dash": "dash"},
    MarkKind.RECOVERY.value: {"line_color": "#2ca02c", "line_dash": "dot"},
}
SHOWN_RECORDS = 5
REQUIRED = ("drop", "seed", "verdict", "series", "marks", "cdf", "regions")


class ReportError(ValueError):
    """A document that is not a herd result (or one from before the report existed)."""


def html_report(doc: Mapping[str, Any]) -> str:
    """The whole report for one herd result ``doc``."""
    missing = [k for k in REQUIRED if k not in doc]
    if missing:
        raise ReportError(f"not a herd result with time series: missing {', '.join(missing)}")
    parts = [
        fig.to_html(
            full_html=False,
            include_plotlyjs=i == 0,
            div_id=f"figure-{i}",  # the same result gives the same page
            config={"displaylogo": False},
        )
        for i, fig in enumerate(figures(doc))
    ]
    verdict = doc["verdict"]
    ok = bool(verdict.get("ok"))
    title = f"herd {doc['drop']}: {'PASS' if ok else 'FAIL'}"
    return PAGE.format(
        title=html.escape(title),
        colour="#2ca02c" if ok else "#d62728",
        header=_header(doc),
        regions=_regions_table(doc["regions"]),
        violations=_violations(verdict.get("violations", [])),
        events=_events(doc["marks"]),
        figures="\n".join(f'<div class="fig">{p}</div>' for p in parts),
    )


def write(doc: Mapping[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_report(doc), encoding="utf-8")
    return path


def figures(doc: Mapping[str, Any]) -> list[go.Figure]:
    """The plots, in page order: four along the drop's time, then two distributions."""
    series = Series.from_json(doc["series"])
    marks: Sequence[Mapping[str, Any]] = doc["marks"]
    timed = [
        _over_time(series, "answers", "Bid answers per second, by outcome", "answers/s", bar=True),
        _over_time(series, "observers", "Observers connected, per region", "sockets"),
        _over_time(series, "deliveries", "Messages delivered per second, per region", "msgs/s"),
        _over_time(
            series, "skipped", "Prices skipped to the latest (resync) per second", "prices/s"
        ),
        _over_time(series, "stalest_ms", "Stalest price shown each second, per region", "ms"),
    ]
    for fig in timed:
        _mark(fig, marks)
    cdf = doc["cdf"]
    return [
        *timed,
        _distribution(cdf.get("ack", {}), "Bid acknowledgement latency, per region"),
        _distribution(cdf.get("observer", {}), "Decision -> observer latency, per region"),
    ]


def _over_time(
    series: Series, group: str, title: str, unit: str, *, bar: bool = False
) -> go.Figure:
    fig = go.Figure()
    for label, points in series.group(group).items():
        xs, ys = list(points), list(points.values())
        if bar:
            fig.add_trace(go.Bar(x=xs, y=ys, name=label))
        else:
            fig.add_trace(go.Scatter(x=xs, y=ys, name=label, mode="lines"))
    fig.update_layout(
        title=title,
        barmode="stack",
        xaxis_title="seconds since the herd started",
        yaxis_title=unit,
        height=340,
        margin={"t": 50, "b": 40},
    )
    return fig


def _mark(fig: go.Figure, marks: Sequence[Mapping[str, Any]]) -> None:
    for m in marks:
        style = MARK_STYLE.get(str(m.get("kind")), MARK_STYLE[MarkKind.PHASE.value])
        fig.add_vline(
            x=float(m["t_s"]),
            line_width=1,
            annotation_text=str(m["label"]),
            annotation_textangle=-90,
            annotation_font_size=9,
            **style,
        )


def _distribution(per_region: Mapping[str, Sequence[Sequence[float]]], title: str) -> go.Figure:
    fig = go.Figure()
    for region, points in sorted(per_region.items()):
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in points], y=[p[1] for p in points], name=region, mode="lines"
            )
        )
    fig.update_layout(
        title=title,
        xaxis={"title": "ms (log)", "type": "log"},
        yaxis={"title": "share at or below", "range": [0, 1.02]},
        height=340,
        margin={"t": 50, "b": 40},
    )
    return fig


def _header(doc: Mapping[str, Any]) -> str:
    sizes, v = doc.get("sizes", {}), doc["verdict"]
    rows = [
        ("seed", doc["seed"]),
        ("profile", doc.get("profile", "")),
        ("regions", ", ".join(sizes.get("regions", []))),
        ("bidders / observers", f"{sizes.get('bidders', 0):,} / {sizes.get('observers', 0):,}"),
        ("chaos", doc.get("chaos") or "none"),
        ("accepted bids / audit rows", f"{v.get('accepted', 0):,} / {v.get('audit_rows', 0):,}"),
        ("bid ack p50 / p99 ms", _p(v.get("ack_ms", {}))),
    ]
    rows += [(k, f"{n:,}") for k, n in sorted(doc.get("counts", {}).items())]
    return _table(("what", "value"), rows)


def _regions_table(regions: Mapping[str, Mapping[str, Any]]) -> str:
    head = (
        "region",
        "observers",
        "deliveries",
        "resyncs",
        "skipped",
        "staleness p50 / p99 / max ms",
        "decision -> observer p50 / p99 ms",
        "bid ack p50 / p99 ms",
    )
    rows = [
        (
            r,
            f"{f['observers']:,}",
            f"{f['deliveries']:,}",
            f"{f['resyncs']:,}",
            f"{f['skipped_prices']:,} ({100 * f['skipped_share']:.1f} %)",
            _p(f["staleness_ms"], top=True),
            _p(f["observer_latency_ms"]),
            _p(f["ack_ms"]),
        )
        for r, f in sorted(regions.items())
    ]
    return _table(head, rows)


def _violations(violations: Sequence[Mapping[str, Any]]) -> str:
    if not violations:
        return "<p>No violations: every check passed.</p>"
    rows = [
        (
            v["kind"],
            v["count"],
            "\n".join(json.dumps(r, default=str) for r in v.get("records", [])[:SHOWN_RECORDS]),
        )
        for v in violations
    ]
    return _table(("kind", "count", "first records"), rows, pre_last=True)


def _events(marks: Sequence[Mapping[str, Any]]) -> str:
    rows = [(f"{float(m['t_s']):.1f}", m["kind"], m["label"]) for m in marks]
    return _table(("second", "kind", "what"), rows) if rows else ""


def _p(s: Mapping[str, Any], *, top: bool = False) -> str:
    text = f"{s.get('p50_ms', 0):,.1f} / {s.get('p99_ms', 0):,.1f}"
    return f"{text} / {s.get('max_ms', 0):,.1f}" if top else text


def _table(head: Sequence[str], rows: Sequence[Sequence[object]], *, pre_last: bool = False) -> str:
    def cell(i: int, value: object) -> str:
        text = html.escape(str(value))
        return (
            f"<td><pre>{text}</pre></td>" if pre_last and i == len(head) - 1 else f"<td>{text}</td>"
        )

    ths = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(cell(i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{ths}</tr>{trs}</table>"


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
h1 {{ color: {colour}; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; vertical-align: top; }}
th {{ background: #f4f4f4; }}
pre {{ text-align: left; margin: 0; font-size: 0.8em; white-space: pre-wrap; }}
.fig {{ max-width: 1100px; }}
</style></head><body>
<h1>{title}</h1>
{header}
<h2>Per region</h2>
{regions}
<h2>Checker</h2>
{violations}
<h2>Along the drop</h2>
{figures}
<h2>Phases, faults and recoveries</h2>
{events}
</body></html>
"""
