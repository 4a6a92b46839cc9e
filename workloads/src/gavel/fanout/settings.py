"""Fan-out configuration, built by ``gavel fanout`` from flags and the environment."""

from __future__ import annotations

from dataclasses import dataclass, field

from gavel.fanout.admission import AddressLimits


@dataclass(frozen=True, slots=True)
class FanoutSettings:
    region: str
    regions: tuple[str, ...]
    kafka_bootstrap: str
    host: str = "127.0.0.1"
    port: int = 8090
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

    def __post_init__(self) -> None:
        if not self.max_stale_ms >= 0:  # also refuses NaN
            raise ValueError(
                f"max_stale_ms must be >= 0 (inf: never skip), not {self.max_stale_ms}"
            )
