"""Bid bodies on the wire, decoded and encoded with msgspec: the gateway's hot-path JSON.

Pure. :func:`parse_bid` is as strict as :class:`gavel.gateway.models.BidRequest` (unknown
fields, wrong types such as ``"100"``, ``10.5`` or ``true``, amounts outside 1..10^15, bad
``bid_id``) and about twice as fast. When it refuses, the pydantic model is asked once more:
it lists every wrong field for the 422 and has the last word on 400 or 422 (refusals are rare
and off the hot path). The pydantic models stay the API's documentation (OpenAPI);
``tests/unit/gateway/test_wire.py`` checks that both agree on every body. Encoding an answer
with msgspec costs a microsecond where a pydantic model and ``json.dumps`` cost tens
(docs/performance.md).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from pydantic import ValidationError

from gavel.auction import MAX_AMOUNT
from gavel.gateway.models import BID_ID_PATTERN, BidRequest
from gavel.gateway.problems import Problem, problem


class Bid(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A bid body: the client's idempotency key and an integer amount in minor units."""

    bid_id: Annotated[str, msgspec.Meta(pattern=BID_ID_PATTERN)]
    amount: Annotated[int, msgspec.Meta(ge=1, le=MAX_AMOUNT)]


_decoder = msgspec.json.Decoder(Bid)
_encoder = msgspec.json.Encoder()


def parse_bid(raw: bytes | str) -> Bid:
    """A strict bid, or a Problem: 400 ``malformed_json``, 422 ``invalid_request``."""
    try:
        return _decoder.decode(raw)
    except msgspec.MsgspecError as exc:  # a DecodeError or a ValidationError: pydantic decides
        raise _refusal(raw, str(exc)) from exc


def _refusal(raw: bytes | str, first: str) -> Problem:
    try:
        BidRequest.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        if any(e["type"] == "json_invalid" for e in errors):
            return problem("malformed_json", errors[0]["msg"])
        fields = [{"field": ".".join(str(x) for x in e["loc"]), "error": e["msg"]} for e in errors]
        return problem("invalid_request", "see errors", errors=fields)
    # Both validators are meant to agree (tested); if they ever do not, refuse with msgspec's word.
    return problem("invalid_request", "see errors", errors=[{"field": "", "error": first}])


def encode(doc: dict[str, Any]) -> bytes:
    """A JSON document as compact UTF-8 bytes."""
    return _encoder.encode(doc)
