"""A drop's Redis ``state`` hash: its field names and its one parser. Pure.

``lua/open_drop.lua`` creates the hash and ``lua/place_bid.lua`` updates it (a unit test holds
the scripts to :data:`FIELDS`); the gateway (``GET /v1/drops/{id}``) and the operator (a Drop's
status, :mod:`gavel_operator.auctions`) read it back through :func:`parse`, ``gavel audit
verify`` reads the audit chain's head through :func:`chain_head`.
"""

from __future__ import annotations

from collections.abc import Mapping

from gavel.auction import State

SEQ = "seq"
HIGH_BID = "high_bid"
"""Absent until the first accepted bid."""
LEADER = "leader"
"""Absent until the first accepted bid."""
LEADER_BID_ID = "leader_bid_id"
ENDS_AT_MS = "ends_at_ms"
"""The live end (soft close moves it); a hash without it is not an opened drop."""
BIDS = "bids"
ATTEMPTS = "attempts"
CHAIN_N = "chain_n"
"""Position of the last link of the drop's audit chain (:mod:`gavel.chain`); absent before."""
CHAIN = "chain"
"""Hash of that link: the chain's head, the anchor ``gavel audit verify`` can check against."""

FIELDS = (SEQ, HIGH_BID, LEADER, LEADER_BID_ID, ENDS_AT_MS, BIDS, ATTEMPTS, CHAIN_N, CHAIN)


def parse(raw: Mapping[bytes | str, bytes | str]) -> State | None:
    """The drop's state from its hash (as ``HGETALL`` returns it), or None where the drop was
    not opened: no hash, or one without an end (place_bid.lua's test for an unknown drop)."""
    f = {_text(k): _text(v) for k, v in raw.items()}
    if not f.get(ENDS_AT_MS):
        return None
    high = f.get(HIGH_BID)
    return State(
        ends_at_ms=int(f[ENDS_AT_MS]),
        seq=int(f.get(SEQ) or 0),
        high_bid=int(high) if high else None,
        leader=f.get(LEADER) or None,
        bids=int(f.get(BIDS) or 0),
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def chain_head(raw: Mapping[bytes | str, bytes | str]) -> tuple[int, str] | None:
    """``(n, hash)`` of the drop's last chain link, or None before its first recorded decision."""
    f = {_text(k): _text(v) for k, v in raw.items()}
    if not f.get(CHAIN_N) or not f.get(CHAIN):
        return None
    return int(f[CHAIN_N]), f[CHAIN]
