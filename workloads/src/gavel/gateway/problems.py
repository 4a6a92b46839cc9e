"""The gateway's error catalogue: every refusal is a problem object (RFC 9457) with a stable code.

Pure: maps a situation to (status, code, title) and renders the JSON body. Clients switch on
``code``; ``detail`` is for people. Bid results that the auction rejected are problems too (409,
429), carrying the bid's figures as extension members so a client can retry sensibly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from gavel.auction import Reason

PROBLEM_JSON = "application/problem+json"


@dataclass
class Problem(Exception):  # noqa: N818 - it is a problem document that may also be raised
    status: int
    code: str
    title: str
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self) -> bytes:
        doc = {
            "type": f"https://gavel.dev/problems/{self.code}",
            "status": self.status,
            "code": self.code,
            "title": self.title,
        }
        if self.detail:
            doc["detail"] = self.detail
        doc.update(self.extra)
        return msgspec.json.encode(doc)


_TITLES: dict[str, tuple[int, str]] = {
    "malformed_json": (400, "The request body is not valid JSON"),
    "invalid_request": (422, "The request does not match the expected shape"),
    "missing_token": (401, "A bearer token is required"),
    "malformed_token": (401, "The Authorization header is malformed"),
    "invalid_token": (401, "The bearer token is not valid"),
    "token_expired": (401, "The bearer token has expired"),
    "unknown_drop": (404, "There is no such drop"),
    "not_found": (404, "Not found"),
    "payload_too_large": (413, "The request body is too large"),
    "unsupported_media_type": (415, "Send application/json"),
    "method_not_allowed": (405, "Method not allowed"),
    "unavailable": (503, "The drop's home region cannot be reached; your attempt was recorded"),
    Reason.BELOW_MINIMUM: (409, "The bid is below the minimum next bid"),
    Reason.NOT_OPEN: (409, "The drop is not open yet"),
    Reason.CLOSED: (409, "The drop has closed"),
    Reason.CANCELLED: (409, "The drop was cancelled"),
    Reason.INVALID_AMOUNT: (422, "The amount is not a valid amount"),
    Reason.RATE_LIMITED: (429, "Too many bids; slow down"),
}


def problem(code: str, detail: str = "", **extra: Any) -> Problem:
    """The problem for ``code`` (a key of the catalogue); unknown codes are a bug, so 500."""
    status, title = _TITLES.get(code, (500, "Internal error"))
    return Problem(status, str(code), title, detail, extra)
