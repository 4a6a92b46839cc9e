from __future__ import annotations

from gavel import state_hash
from gavel.auction import State
from tests.support import lua


def _hash(**fields: str) -> dict[bytes | str, bytes | str]:
    return {k.encode(): v.encode() for k, v in fields.items()}


def test_a_fresh_drop_has_no_high_bid_and_no_leader() -> None:
    raw = _hash(seq="0", ends_at_ms="2000", bids="0", attempts="0")
    assert state_hash.parse(raw) == State(ends_at_ms=2000)


def test_after_a_bid_every_figure_is_read() -> None:
    raw = _hash(
        seq="3",
        high_bid="1500",
        leader="alice",
        leader_bid_id="b-1",
        ends_at_ms="9000",
        bids="3",
        attempts="7",
    )
    assert state_hash.parse(raw) == State(
        ends_at_ms=9000, seq=3, high_bid=1500, leader="alice", bids=3
    )


def test_no_hash_or_no_end_is_a_drop_not_opened_here() -> None:
    assert state_hash.parse({}) is None
    assert state_hash.parse(_hash(attempts="1")) is None


def test_the_scripts_touch_exactly_the_fields_named_here() -> None:
    """open_drop.lua and place_bid.lua write the state hash (KEYS[2] in both); a field added or
    renamed there must be added or renamed in gavel.state_hash too."""
    used = {
        word
        for script in ("open_drop", "place_bid")
        for call in lua.calls(script)
        if call.key == "KEYS[2]"
        for word in call.quoted
        if not word.isdigit()
    }
    assert used == {*state_hash.FIELDS, state_hash.REFUSED_PREFIX}


def test_counts_read_attempts_bids_and_refusals_by_reason() -> None:
    raw = _hash(attempts="9", bids="4", **{"refused:below_minimum": "3", "refused:closed": "2"})
    assert state_hash.counts(raw) == state_hash.Counts(
        attempts=9, bids=4, refused={"below_minimum": 3, "closed": 2}
    )
    assert state_hash.counts({}) == state_hash.Counts()
