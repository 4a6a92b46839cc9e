"""Prometheus metrics of the gateway, registered once per process."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

BIDS = Counter(
    "gavel_gateway_bids_total",
    "Bid attempts answered, by outcome and reason",
    ["outcome", "reason"],
)
BID_SECONDS = Histogram(
    "gavel_gateway_bid_seconds",
    "Time from request received to response, per bid",
    buckets=(0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
)
OUTBOX_EVENTS = Counter(
    "gavel_gateway_outbox_events_total",
    "Attempts decided at the edge and written to the disk outbox",
    ["reason"],
)
REFUSED = Counter(
    "gavel_gateway_refused_total", "Requests refused before they became a bid attempt", ["code"]
)
BIDDER_SOCKETS = Gauge("gavel_gateway_bidder_sockets", "Open bidder WebSockets")
REPLICATION_BATCH = Histogram(
    "gavel_gateway_replication_batch_bids",
    "Commands written to a home Redis in one batch (one write; with replicas, one WAIT)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
REPLICATION_UNCONFIRMED = Counter(
    "gavel_gateway_replication_unconfirmed_total",
    "Bids answered 503 because too few replicas confirmed their decision in time",
)
JWKS_FETCHES = Counter(
    "gavel_gateway_jwks_fetches_total",
    "Fetches of the bidder-token JWKS, by why (schedule, unknown_kid) and outcome (ok, failed)",
    ["why", "outcome"],
)
JWKS_KEYS = Gauge("gavel_gateway_jwks_keys", "Bidder-token public keys held")
