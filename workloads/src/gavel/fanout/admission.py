"""Who may open an observer socket: per-address limits on handshakes and open sockets. Pure.

Called by :mod:`gavel.fanout.connection` when a WebSocket handshake for a drop arrives and when an
observer socket closes; the clock is passed in. One client address gets at most ``burst``
handshakes at once and ``per_second`` sustained (a token bucket), and at most ``max_open``
sockets at a time, so one machine cannot take a replica's whole connection budget or make it
spend its core on handshakes. Addresses in ``trusted`` networks (by default loopback: sidecars,
the local stack's tests and benchmarks) are not limited.

State is one small record per address that holds a socket or has spent tokens recently; a record
is forgotten once its bucket is full again and it holds no socket, so random source addresses
cannot grow it without bound: it holds the addresses that hold a socket, plus those that
handshook within the last ``burst / per_second`` seconds.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import Enum

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Refusal(Enum):
    """Why a handshake is refused (the label of ``gavel_fanout_refused_total``)."""

    HANDSHAKE_RATE = "address_handshake_rate"
    OPEN_SOCKETS = "address_open_sockets"


@dataclass(frozen=True, slots=True)
class AddressLimits:
    burst: int = 64
    """Handshakes one address may make at once."""
    per_second: float = 32.0
    """Handshakes one address may make per second, sustained."""
    max_open: int = 256
    """Observer sockets one address may hold open."""
    trusted: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    """Networks (CIDR) not limited."""

    def __post_init__(self) -> None:
        if self.burst < 1 or self.per_second <= 0 or self.max_open < 1:
            raise ValueError("per-address limits must be positive")
        for network in self.trusted:
            ipaddress.ip_network(network)  # a typo fails at start-up, not at the first client


@dataclass(slots=True)
class _Address:
    tokens: float
    at: float
    open: int = 0


@dataclass(slots=True)
class Admission:
    """Per-address bookkeeping of one fan-out process."""

    limits: AddressLimits = field(default_factory=AddressLimits)
    _trusted: tuple[Network, ...] = ()
    _seen: dict[str, _Address] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._trusted = tuple(ipaddress.ip_network(n) for n in self.limits.trusted)

    def admit(self, address: str | None, now: float) -> Refusal | None:
        """Take one handshake of ``address`` at ``now`` (seconds); None when it may open a socket,
        which the caller then reports with :meth:`opened`."""
        if self._is_trusted(address):
            return None
        assert address is not None
        entry = self._refill(address, now)
        if entry.open >= self.limits.max_open:
            return Refusal.OPEN_SOCKETS
        if entry.tokens < 1:
            return Refusal.HANDSHAKE_RATE
        entry.tokens -= 1
        return None

    def opened(self, address: str | None) -> None:
        if not self._is_trusted(address):
            assert address is not None
            self._seen[address].open += 1

    def closed(self, address: str | None, now: float) -> None:
        if self._is_trusted(address) or address not in self._seen:
            return
        assert address is not None
        entry = self._refill(address, now)
        entry.open = max(0, entry.open - 1)
        self._forget_if_idle(address, entry)

    def sweep(self, now: float) -> None:
        """Forget addresses that hold no socket and whose bucket is full again."""
        for address in list(self._seen):
            self._forget_if_idle(address, self._refill(address, now))

    @property
    def tracked(self) -> int:
        """Addresses with state (a gauge, and what the bound above speaks of)."""
        return len(self._seen)

    def _refill(self, address: str, now: float) -> _Address:
        entry = self._seen.get(address)
        if entry is None:
            entry = self._seen[address] = _Address(tokens=self.limits.burst, at=now)
            return entry
        elapsed = max(0.0, now - entry.at)
        entry.tokens = min(self.limits.burst, entry.tokens + elapsed * self.limits.per_second)
        entry.at = now
        return entry

    def _forget_if_idle(self, address: str, entry: _Address) -> None:
        if entry.open == 0 and entry.tokens >= self.limits.burst:
            del self._seen[address]

    def _is_trusted(self, address: str | None) -> bool:
        if address is None:  # a Unix socket or a transport without a peer: the same machine
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)
