from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from gavel import chain, luascripts
from tests.support import lua

GENESIS = "0" * 40


def test_the_encoding_is_the_documented_bytes_and_hash() -> None:
    """A known answer, computed apart from this code (printf ... | sha1sum)."""
    values = ["e-1", "", "héllo"]
    assert chain.encode(GENESIS, 1, values) == (
        b"gavel-chain-1\n" + GENESIS.encode() + b"\n1\n3:e-1\n0:\n6:h\xc3\xa9llo\n"
    )
    assert chain.link_hash(GENESIS, 1, values) == "ce1f6108dd2beeedbf54c4cdc082e1d115cc75b1"
    assert chain.GENESIS == GENESIS


@given(
    st.lists(st.text(), min_size=1, max_size=5),
    st.lists(st.text(), min_size=1, max_size=5),
)
def test_different_values_never_encode_alike(a: list[str], b: list[str]) -> None:
    """The length prefixes make the encoding injective: no two value lists share bytes (so a
    value moved across a field boundary, or a separator inside a value, changes the hash)."""
    if a != b and len(a) == len(b):
        assert chain.encode(GENESIS, 1, a) != chain.encode(GENESIS, 1, b)


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
    assert "parts[#parts + 1] = #f[i] .. ':' .. f[i]" in body
    assert "redis.sha1hex(table.concat(parts, '\\n') .. '\\n')" in body
