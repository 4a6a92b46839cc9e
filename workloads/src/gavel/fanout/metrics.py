"""Prometheus metrics of the fan-out. Hot-path counters are bumped once per broadcast, not per
socket."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CONNECTIONS = Gauge("gavel_fanout_connections", "Open observer sockets")
DROP_OBSERVERS = Gauge(
    "gavel_fanout_drop_observers",
    "Open observer sockets of one drop on this process; only drops this region's Redis has (or, "
    "without a Redis, drops with a feed), so random names add no series",
    ["drop"],
)
OBSERVER_REPORTS = Counter(
    "gavel_fanout_observer_reports_total",
    "Per-drop observer reports to this region's Redis, by result (ok, unknown_drop, error)",
    ["result"],
)
DELIVERIES = Counter("gavel_fanout_deliveries_total", "Messages written to observer sockets")
EVENTS = Counter(
    "gavel_fanout_events_total", "Price events from Kafka, by what they did", ["result"]
)
CONFLATED = Counter(
    "gavel_fanout_conflated_total",
    "Messages not sent to a paused (slow) socket; it gets a resync snapshot",
)
SKIPPED = Counter(
    "gavel_fanout_skipped_total",
    "Prices not broadcast: superseded by a newer one in hand by more than the staleness bound",
)
SLOW_DISCONNECTS = Counter(
    "gavel_fanout_slow_disconnects_total", "Sockets closed for staying paused past the slow timeout"
)
REFUSED = Counter("gavel_fanout_refused_total", "Handshakes refused", ["reason"])
DROPS = Gauge("gavel_fanout_drops", "Drops with a feed (a price came from Kafka)")
WATCHED_DROPS = Gauge("gavel_fanout_watched_drops", "Drop names with at least one open socket")
ADDRESSES = Gauge("gavel_fanout_limited_addresses", "Client addresses with per-address limit state")
LAG_MS = Gauge("gavel_fanout_lag_ms", "Now minus decided time of the last price event applied")
PAGES = Counter(
    "gavel_fanout_pages_total", "Drop pages served, by HTTP status (200, 404, 503)", ["status"]
)
