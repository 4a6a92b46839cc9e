"""Redis key layout of a drop: the one place it is written down.

Every key of one drop carries the hash tag ``{<drop id>}`` so that a single Lua script may touch
all of them on a Redis Cluster (they hash to one slot). Imported by the gateway, the relay,
``gavel drops`` and the tests; the Lua scripts receive these names through ``KEYS`` and never
build a key themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DROP_ID_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
"""A DNS label, like the Drop resource's name: no braces, so it is safe inside a hash tag."""

BIDDER_ID_PATTERN = re.compile(r"^[A-Za-z0-9._@:-]{1,64}$")
"""What a bidder id (the token's subject) may look like; never contains a newline."""

DROP_INDEX = "gavel:drops"
"""Set of drop ids whose event streams the relay reads (outside any drop's slot on purpose)."""

WAIT_FENCE = "gavel:wait-fence"
"""A counter the gateway increments to move its connection's replication offset forward before
a ``WAIT`` that must cover a decision made on another connection (a repeated attempt)."""

RELAY_GROUP = "relay"
"""Consumer group of the relay on every drop's event stream."""


@dataclass(frozen=True, slots=True)
class DropKeys:
    """The keys of one drop."""

    drop_id: str

    @property
    def tag(self) -> str:
        return "{" + self.drop_id + "}"

    @property
    def rules(self) -> str:
        """Hash: the auction rules (start price, increments, window...), see lua/open_drop.lua."""
        return f"{self.tag}:rules"

    @property
    def listing(self) -> str:
        """Hash: what a page shows of the drop that decides nothing (title, sku), see
        :func:`gavel.drop_rules.listing_fields`; may change at any time."""
        return f"{self.tag}:listing"

    @property
    def state(self) -> str:
        """Hash: the drop's live figures (fields and parser: :mod:`gavel.state_hash`)."""
        return f"{self.tag}:state"

    @property
    def bids(self) -> str:
        """Hash: first outcome per ``<bidder>\\n<bid_id>``, for idempotent replays."""
        return f"{self.tag}:bids"

    @property
    def events(self) -> str:
        """Stream: the transactional outbox, one entry per decided attempt."""
        return f"{self.tag}:events"

    @property
    def live(self) -> str:
        """Pub/sub channel: accepted bids, for "you were outbid" pushes to bidder sockets."""
        return f"{self.tag}:live"

    @property
    def observers(self) -> str:
        """Hash: this region's observers of the drop, per fan-out process, and their peak
        (fields and reader: :mod:`gavel.observer_hash`, writer: lua/observers.lua)."""
        return f"{self.tag}:observers"

    def rate_bucket(self, bidder: str) -> str:
        """Hash: the token bucket of one bidder on this drop."""
        return f"{self.tag}:rl:{bidder}"


def for_drop(drop_id: str) -> DropKeys:
    """Keys of ``drop_id``; raises ValueError for an id that is not a DNS label."""
    if not DROP_ID_PATTERN.match(drop_id):
        raise ValueError(f"invalid drop id {drop_id!r}: must be a DNS label (a-z, 0-9, '-')")
    return DropKeys(drop_id)
