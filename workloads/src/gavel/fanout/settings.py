"""Fan-out configuration, built by ``gavel fanout`` from flags and the environment."""

from __future__ import annotations

from dataclasses import dataclass, field

from gavel.fanout import csp
from gavel.fanout.admission import AddressLimits
from gavel.kafka_auth import KafkaAuth


@dataclass(frozen=True, slots=True)
class FanoutSettings:
    region: str
    regions: tuple[str, ...]
    kafka_bootstrap: str
    host: str = "127.0.0.1"
    port: int = 8090
    kafka_auth: KafkaAuth | None = None
    """The fan-out's Kafka user (gavel.kafka_auth); None: Kafka without authentication."""
    allowed_origins: tuple[str, ...] = ()
    """Browser origins allowed to connect; empty: any. Clients without an Origin always may."""
    max_connections: int = 50_000
    """Per process; past it, handshakes get 503 and clients go to another replica."""
    address_limits: AddressLimits = field(default_factory=AddressLimits)
    """Per client address: handshakes per second and open sockets (429 past them)."""
    max_message_bytes: int = 1024
    """Observers only send control frames; anything bigger closes the socket (1009)."""
    history_size: int = 512
    """Price messages kept per drop for reconnects with ``since``."""
    high_water_bytes: int = 16 * 1024
    """Per-socket send buffer past which the socket is paused and conflated to the latest."""
    send_buffer_bytes: int = 16 * 1024
    """The kernel's send buffer per socket (SO_SNDBUF), fixed rather than auto-tuned up to
    megabytes: what sits there is not conflated, so it bounds how many old prices a slow
    observer still has to read before its resync."""
    max_stale_ms: float = 500.0
    """A price is not broadcast when a newer one of its drop, decided more than this later, is
    already in hand (the process is behind): observers skip to the newer one by a resync."""
    slow_timeout_s: float = 30.0
    """A socket paused that long is disconnected (1013 try again later)."""
    ping_interval_s: float = 20.0
    replay_ms: int = 24 * 3600 * 1000
    """How far back in Kafka a (re)starting fan-out reads to rebuild every drop's state."""
    redis_url: str | None = None
    """This region's Redis, where the drop page reads a drop's rules and listing (every
    participating region holds a copy); None: the fan-out serves no drop pages."""
    observers_interval_s: float = 2.0
    """How often each drop's observers on this process are recorded in this region's Redis
    (for ``gavel drops watch`` and the peak ``gavel drops results`` shows); an entry lives
    three intervals, so a process that dies stops counting within that time."""
    gateway_urls: tuple[tuple[str, str], ...] = ()
    """(region, public http(s) URL) of bid gateways: the drop page sends bids to its drop's
    home region's gateway, else to this region's; none: the page offers no bidding."""
    demo_login_url: str | None = None
    """A development login that mints bidder tokens (``gavel_devstack.demo_login``, never in a
    production image); the drop page offers it when set."""

    def __post_init__(self) -> None:
        if not self.max_stale_ms >= 0:  # also refuses NaN
            raise ValueError(
                f"max_stale_ms must be >= 0 (inf: never skip), not {self.max_stale_ms}"
            )
        if not self.observers_interval_s > 0:
            raise ValueError(f"observers_interval_s must be > 0, not {self.observers_interval_s}")
        for _, url in self.gateway_urls:
            csp.origin_of(url)  # ValueError at start-up, not a broken page later
        if self.demo_login_url:
            csp.origin_of(self.demo_login_url)


def parse_gateway_urls(pairs: list[str]) -> tuple[tuple[str, str], ...]:
    """``REGION=URL`` flags as (region, URL) pairs; ValueError naming a malformed one."""
    parsed = []
    for pair in pairs:
        region, sep, url = pair.partition("=")
        if not sep or not region or not url:
            raise ValueError(f"--gateway-url {pair!r}: expected REGION=URL")
        csp.origin_of(url)
        parsed.append((region, url.rstrip("/")))
    return tuple(parsed)
