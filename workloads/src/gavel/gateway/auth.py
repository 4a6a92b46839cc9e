"""Bidder tokens: HS256 JWTs, signed, expiring, audience-checked. Pure functions.

The algorithm is fixed (never read from the token's header), so a token cannot downgrade itself
to ``none`` or switch to a public-key algorithm. ``sub`` is the bidder id. Used by the gateway
for every request and by ``gavel token mint`` for tests and demos.
"""

from __future__ import annotations

import time

import jwt

from gavel import keys
from gavel.gateway.settings import TOKEN_AUDIENCE, TOKEN_ISSUER

ALGORITHM = "HS256"


class AuthError(Exception):
    """Why a token was refused: ``code`` is stable (problem type), ``detail`` is for people."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def mint(secret: str, bidder: str, ttl_s: int = 3600, now: float | None = None) -> str:
    """A token for ``bidder`` valid for ``ttl_s`` seconds."""
    if not keys.BIDDER_ID_PATTERN.match(bidder):
        raise ValueError(f"invalid bidder id {bidder!r}: 1-64 of A-Z a-z 0-9 . _ @ : -")
    issued = int(time.time() if now is None else now)
    claims = {
        "sub": bidder,
        "aud": TOKEN_AUDIENCE,
        "iss": TOKEN_ISSUER,
        "iat": issued,
        "exp": issued + ttl_s,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def bidder_from_header(secret: str, authorization: str | None) -> str:
    """The bidder id of an ``Authorization: Bearer <token>`` header; raises AuthError."""
    if not authorization:
        raise AuthError("missing_token", "send Authorization: Bearer <token>")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("malformed_token", "the Authorization header must be 'Bearer <token>'")
    return verify(secret, token.strip())


def verify(secret: str, token: str) -> str:
    """The bidder id of a valid token; raises AuthError saying what is wrong."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=TOKEN_AUDIENCE,
            issuer=TOKEN_ISSUER,
            options={"require": ["exp", "sub", "aud", "iss"]},
            leeway=5,
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("token_expired", "the token has expired; get a new one") from exc
    except jwt.InvalidAudienceError as exc:
        raise AuthError("invalid_token", "the token is not meant for bidding") from exc
    except jwt.InvalidSignatureError as exc:
        raise AuthError("invalid_token", "the token's signature does not verify") from exc
    except jwt.PyJWTError as exc:
        raise AuthError("invalid_token", f"the token is not valid: {exc}") from exc
    bidder = claims["sub"]
    if not isinstance(bidder, str) or not keys.BIDDER_ID_PATTERN.match(bidder):
        raise AuthError("invalid_token", "the token's subject is not a valid bidder id")
    return bidder
