"""The HTML report: built from a herd's JSON, self-contained, every time axis marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gavel.herd import report
from gavel.herd.latency import Histogram
from gavel.herd.series import Mark, MarkKind, Series

REGIONS = ("us", "eu")


def figures_of(region: str) -> dict[str, Any]:
    s = {"count": 10, "p50_ms": 5.0, "p99_ms": 40.0, "max_ms": 41.0}
    return {
        "observers": 50,
        "deliveries": 1_000,
        "resyncs": 3,
        "skipped_prices": 12,
        "skipped_share": 0.0119,
        "staleness_ms": s,
        "observer_latency_ms": s,
        "ack_ms": s,
    }


def a_result(violations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    series = Series()
    for second in range(20):
        series.add("answers/accepted", second, 3)
        series.add("answers/below_minimum", second, 7)
        for r in REGIONS:
            series.put(f"observers/{r}", second, 50)
            series.put(f"deliveries/{r}", second, 150)
            series.put(f"skipped/{r}", second, 1)
            series.put(f"stalest_ms/{r}", second, 30.0)
    h = Histogram()
    for ms in range(1, 50):
        h.add(float(ms))
    marks = [
        Mark(3.0, "opens", MarkKind.PHASE),
        Mark(8.0, "relay/us killed", MarkKind.FAULT),
        Mark(8.6, "relay/us restarted", MarkKind.RECOVERY),
    ]
    return {
        "drop": "herd-abc",
        "seed": 7,
        "profile": "smoke",
        "sizes": {"bidders": 10, "observers": 100, "regions": list(REGIONS), "duration_s": 12},
        "counts": {"answers": 200},
        "verdict": {
            "ok": not violations,
            "accepted": 60,
            "audit_rows": 200,
            "ack_ms": {"p50_ms": 3.0, "p99_ms": 9.0},
            "violations": violations or [],
        },
        "chaos": "8s kill relay/us",
        "series": series.as_json(),
        "marks": [m.as_json() for m in marks],
        "cdf": {"ack": {r: h.cdf() for r in REGIONS}, "observer": {r: h.cdf() for r in REGIONS}},
        "regions": {r: figures_of(r) for r in REGIONS},
    }


def test_every_time_axis_carries_every_mark_and_each_region_has_its_traces() -> None:
    doc = a_result()
    figs = report.figures(doc)
    timed, distributions = figs[:-2], figs[-2:]
    assert len(timed) == 5
    for fig in timed:
        assert [s.x0 for s in fig.layout.shapes] == [3.0, 8.0, 8.6]
    fault = timed[0].layout.shapes[1]
    assert (fault.line.color, fault.line.dash) == ("#d62728", "dash")
    assert {t.name for t in timed[0].data} == {"accepted", "below_minimum"}
    assert {t.name for t in timed[1].data} == set(REGIONS)
    assert list(timed[1].data[0].x) == list(range(20))
    for fig in distributions:
        assert {t.name for t in fig.data} == set(REGIONS)
        assert all(t.y[-1] == 1.0 for t in fig.data)
        assert fig.layout.xaxis.type == "log"


def test_the_page_is_one_self_contained_file(tmp_path: Path) -> None:
    page = report.html_report(a_result())
    # plotly.js inlined exactly once, nothing fetched from elsewhere.
    assert page.count("plotly.js v") == 1
    assert 'src="http' not in page
    assert "<h1>herd herd-abc: PASS</h1>" in page
    assert "relay/us killed" in page
    assert "No violations" in page
    written = report.write(a_result(), tmp_path / "deep" / "report.html")
    assert written.read_text() == page


def test_violations_are_listed_with_their_records_escaped() -> None:
    bad = [{"kind": "lost_ack", "count": 1, "records": [{"bid_id": "<script>x</script>"}]}]
    page = report.html_report(a_result(bad))
    assert "<h1>herd herd-abc: FAIL</h1>" in page
    assert "lost_ack" in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<script>x</script>" not in page


def test_a_document_without_series_is_refused_with_what_it_lacks() -> None:
    doc = a_result()
    del doc["series"], doc["cdf"]
    with pytest.raises(report.ReportError, match="missing series, cdf"):
        report.html_report(doc)
