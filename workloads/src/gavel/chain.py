"""The audit hash chain of a drop: what one link hashes, spelled once for Python. Pure.

Every decision ``lua/place_bid.lua`` records in a drop's outbox (accepted, rejected by the
rules, rate limited) gets a link: its position ``n`` in the drop's chain (1, 2, ...), the hash
of the link before it (``prev``; :data:`GENESIS` for the first) and its own hash, computed by
the script in the same atomic call that decides, so the chain follows the order in which the
drop's Redis decided. The head (``chain_n``, ``chain``) lives in the drop's state hash, which is
replicated with the outbox entry in one transaction (docs/decisions.md 35/36).

The hash is ``sha1hex`` of :func:`encode`'s bytes (UTF-8), every line ended by LF:

.. code-block:: text

    gavel-chain-1
    <prev: 40 lowercase hex>
    <n: decimal>
    then one line per value of the outbox entry, in its field order
    (gavel.events.ATTEMPT_FIELDS: event_id ... region)

Values are the outbox entry's strings as the script writes them: decimal integers, ``''`` for
none, ``'1'``/``'0'`` for booleans (:meth:`gavel.events.BidEvent.attempt_values` makes them
from an event or an audit row). The script refuses any text with a newline, so what it hashes
has exactly :data:`LINES` newlines and splits into its values one way only; a row edited to
hold a newline encodes with more and can never match (the encoding is injective where it
matters, without the cost of length prefixes: formatting them tripled the chain's Lua time).
SHA-1 because it is what Redis' Lua offers (``redis.sha1hex``); what a chain needs is
second-preimage resistance, which SHA-1 still has (docs/audit.md, "Tamper evidence").

Used by :mod:`gavel.events` (the link an event carries), :mod:`gavel.bidding` (the script's
answer), :mod:`gavel.audit.chain_check` (the verifier) and the tests that hold the script to it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

TAG = "gavel-chain-1"
"""First line of every encoding: names the format, so a future one cannot be confused with it."""

GENESIS = "0" * 40
"""``prev`` of a drop's first link."""

HASH_PATTERN = re.compile(r"^[0-9a-f]{40}$")

LINES = 3 + 17
"""Newlines in the encoding of a decision the script made: tag, prev, n and 17 values."""


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One decision's place in its drop's chain."""

    n: int
    """Position, from 1, in the order the drop's Redis decided."""
    prev: str
    """The hash of link ``n - 1`` (:data:`GENESIS` for n = 1)."""
    hash: str
    """sha1 hex of :func:`encode` of this decision."""

    def well_formed(self) -> bool:
        return self.n >= 1 and bool(HASH_PATTERN.match(self.prev) and HASH_PATTERN.match(self.hash))


def encode(prev: str, n: int, values: Sequence[str]) -> bytes:
    """The bytes a link hashes (the module docstring spells them out)."""
    lines = [TAG, prev, str(n), *values, ""]
    return "\n".join(lines).encode("utf-8", errors="surrogatepass")


def link_hash(prev: str, n: int, values: Sequence[str]) -> str:
    """The hash of the decision with outbox ``values`` at position ``n`` after ``prev``."""
    return hashlib.sha1(encode(prev, n, values)).hexdigest()  # noqa: S324 - see docstring


def seal(prev: str, n: int, values: Sequence[str]) -> ChainLink:
    """The link the script makes for these values (for tests and models)."""
    return ChainLink(n, prev, link_hash(prev, n, values))
