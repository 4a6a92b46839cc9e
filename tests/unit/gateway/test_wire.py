"""The hot path's msgspec bodies refuse exactly what the documented pydantic model refuses."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from gavel.gateway import wire
from gavel.gateway.models import BidRequest
from gavel.gateway.problems import Problem

values = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.text(max_size=70),
    st.from_regex(r"[A-Za-z0-9._:-]{0,66}", fullmatch=True),
    st.lists(st.integers(), max_size=2),
)
bodies = st.one_of(
    st.fixed_dictionaries({"bid_id": values, "amount": values}),
    st.dictionaries(st.sampled_from(["bid_id", "amount", "max", "Amount"]), values, max_size=3),
    values,
).map(lambda doc: json.dumps(doc).encode())


def pydantic_says(raw: bytes | str) -> tuple[str, int] | str:
    try:
        bid = BidRequest.model_validate_json(raw)
    except ValidationError as exc:
        json_broken = any(e["type"] == "json_invalid" for e in exc.errors())
        return "malformed_json" if json_broken else "invalid_request"
    return (bid.bid_id, bid.amount)


def msgspec_says(raw: bytes | str) -> tuple[str, int] | str:
    try:
        bid = wire.parse_bid(raw)
    except Problem as p:
        return p.code
    return (bid.bid_id, bid.amount)


@given(raw=st.one_of(bodies, st.binary(max_size=60)))
@example(raw=b"Infinity")  # JSON to pydantic (so a 422), not to msgspec
@example(raw=b'{"bid_id": "1", "amount": NaN}')
@example(raw=b"0\x00")  # a value, then garbage: 400 either way
@example(raw=b'{"bid_id": "1", "amount": 1, "amount": 2}')
def test_both_validators_agree_on_every_body(raw: bytes) -> None:
    assert msgspec_says(raw) == pydantic_says(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"bid_id": "1", "amount": "1000"}',
        b'{"bid_id": "1", "amount": 10.5}',
        b'{"bid_id": "1", "amount": 1.0}',
        b'{"bid_id": "1", "amount": true}',
        b'{"bid_id": "1", "amount": 0}',
        b'{"bid_id": "1", "amount": 1000000000000001}',
        b'{"bid_id": "", "amount": 1000}',
        b'{"bid_id": "a b", "amount": 1000}',
        b'{"bid_id": "1", "amount": 1000, "max": 2000}',
        b'{"amount": 1000}',
        b"[1, 2]",
    ],
)
def test_wrong_shapes_are_422_listing_the_fields(raw: bytes) -> None:
    with pytest.raises(Problem) as refused:
        wire.parse_bid(raw)
    assert (refused.value.status, refused.value.code) == (422, "invalid_request")
    assert refused.value.extra["errors"]


def test_broken_json_is_400() -> None:
    with pytest.raises(Problem) as refused:
        wire.parse_bid(b'{"bid_id": "1", "amount": ')
    assert (refused.value.status, refused.value.code) == (400, "malformed_json")


def test_a_good_bid() -> None:
    assert wire.parse_bid('{"bid_id": "a-1.b:c_d", "amount": 1000000000000000}') == wire.Bid(
        "a-1.b:c_d", 10**15
    )
