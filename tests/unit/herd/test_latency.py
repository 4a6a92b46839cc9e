"""Latency histograms: exact to a tenth of a millisecond, cheap to fill."""

from __future__ import annotations

from gavel.herd.latency import Histogram


def test_quantiles_and_max_of_a_hundred_samples() -> None:
    h = Histogram()
    for ms in range(1, 101):
        h.add(float(ms))
    s = h.summary()
    assert (s.count, s.p50_ms, s.p99_ms, s.max_ms) == (100, 50.0, 99.0, 100.0)


def test_rounding_up_to_a_tenth_and_negative_clock_skew_counts_as_zero() -> None:
    h = Histogram()
    h.add(0.12)
    h.add(-3.0)
    assert h.summary().max_ms == 0.2
    assert h.quantile(0.5) == 0.0


def test_merging_and_an_empty_histogram() -> None:
    assert Histogram().summary().count == 0
    a, b = Histogram(), Histogram()
    a.add(1.0)
    b.add(9.0)
    a.merge(b)
    assert (len(a), a.summary().max_ms) == (2, 9.0)


def test_a_distribution_is_thinned_to_its_points_and_ends_at_one() -> None:
    h = Histogram()
    for ms in range(1, 1001):
        h.add(float(ms))
    points = h.cdf(points=100)
    assert len(points) == 100
    assert points[-1] == (1000.0, 1.0)
    assert points[0] == (10.0, 0.01)
    shares = [share for _, share in points]
    assert shares == sorted(shares)
    assert Histogram().cdf() == []
