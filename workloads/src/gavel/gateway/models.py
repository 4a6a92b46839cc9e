"""Request and response bodies: strict (unknown fields and wrong types are refused)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from gavel.auction import MAX_AMOUNT

BID_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
BidId = Annotated[str, StringConstraints(pattern=BID_ID_PATTERN, strict=True)]


class BidRequest(BaseModel):
    """A bid: the client's idempotency key and an integer amount in minor units."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bid_id: BidId = Field(description="Client-chosen id; repeating it returns the first answer.")
    amount: Annotated[StrictInt, Field(ge=1, le=MAX_AMOUNT)] = Field(
        description="Integer amount in minor units (cents)."
    )


class BidResponse(BaseModel):
    """What the gateway answers to a bid, accepted or not."""

    drop: str
    bid_id: str
    event_id: str
    outcome: str
    reason: str
    seq: int
    high_bid: int | None
    leader_is_you: bool
    min_next: int | None
    ends_at_ms: int | None
    reserve_met: bool
    duplicate: bool
    decided_ms: int


class DropView(BaseModel):
    """A drop's public state."""

    drop: str
    status: str
    currency: str
    home_region: str
    opens_at_ms: int
    ends_at_ms: int
    seq: int
    bids: int
    high_bid: int | None
    leader_alias: str | None
    min_next: int
    reserve_met: bool
