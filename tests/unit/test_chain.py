from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from gavel import chain, events, luascripts
from tests.support import lua

GENESIS = "0" * 40
ONE_LINE = st.text().filter(lambda t: "\n" not in t)


def test_the_encoding_is_the_documented_bytes_and_hash() -> None:
    """A known answer, computed apart from this code (printf ... | sha1sum)."""
    values = ["e-1", "", "héllo"]
    assert chain.encode(GENESIS, 1, values) == (
        b"gavel-chain-1\n" + GENESIS.encode() + b"\n1\ne-1\n\nh\xc3\xa9llo\n"
    )
    assert chain.link_hash(GENESIS, 1, values) == "2efc7224f18666500761bf1ce51b480cd9773daf"
    assert chain.GENESIS == GENESIS
    assert 3 + len(events.ATTEMPT_FIELDS) == chain.LINES


@given(st.lists(ONE_LINE, min_size=3, max_size=3), st.lists(st.text(), min_size=3, max_size=3))
def test_no_other_values_encode_like_values_the_script_records(
    recorded: list[str], other: list[str]
) -> None:
    """The script records values without newlines: no other list of values (an edited row,
    with or without a newline) encodes to the same bytes."""
    if other != recorded:
        assert chain.encode(GENESIS, 1, other) != chain.encode(GENESIS, 1, recorded)


def test_position_and_predecessor_are_part_of_the_hash() -> None:
    values = ["x"]
    h = chain.link_hash(GENESIS, 1, values)
    assert h != chain.link_hash(GENESIS, 2, values)
    assert h != chain.link_hash("1" * 40, 1, values)
    link = chain.seal(GENESIS, 1, values)
    assert link.well_formed()
    assert link.hash == h
    assert not chain.ChainLink(0, GENESIS, h).well_formed()
    assert not chain.ChainLink(1, "", h).well_formed()
    assert not chain.ChainLink(1, GENESIS, h.upper()).well_formed()


def test_the_script_spells_the_same_tag_genesis_and_framing() -> None:
    """place_bid.lua's constants and framing are gavel.chain's; tests/integration/
    test_chain_lua.py proves the bytes agree on a real Redis."""
    source = luascripts.script("place_bid").source
    consts = re.search(r"local CHAIN_TAG, GENESIS = '([^']*)', '([^']*)'", source)
    assert consts is not None
    assert (consts.group(1), consts.group(2)) == (chain.TAG, chain.GENESIS)
    body = lua.function_body("place_bid", "record")
    assert "local parts = {CHAIN_TAG, prev, n(link_n)}" in body
    assert "for i = 2, #f, 2 do parts[#parts + 1] = f[i] end" in body
    assert "parts[#parts + 1] = ''" in body
    assert "redis.sha1hex(table.concat(parts, '\\n'))" in body
    # Every text the script takes from its caller is refused with a newline in it.
    guard = re.search(r"string\.find\(([^,]+), '\\n', 1, true\)", source)
    assert guard is not None
    assert set(guard.group(1).split(" .. ")) == {
        "bidder",
        "bid_id",
        "event_id",
        "region",
        "received_ms",
    }
