"""Bidder tokens: HS256 JWTs, signed, expiring, audience-checked. Pure functions.

The algorithm is fixed (never read from the token's header), so a token cannot downgrade itself
to ``none`` or switch to a public-key algorithm. ``sub`` is the bidder id. Used by the gateway
for every request and by ``gavel token mint`` for tests and demos.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt

from gavel import keys
from gavel.gateway.settings import TOKEN_AUDIENCE, TOKEN_ISSUER

ALGORITHM = "HS256"
LEEWAY_S = 5
"""Clock skew forgiven on ``exp`` (and ``nbf``), by verification and by the cache alike."""


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
    return verify_claims(secret, token)[0]


def verify_claims(secret: str, token: str) -> tuple[str, int]:
    """The bidder id and ``exp`` of a valid token; raises AuthError saying what is wrong."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=TOKEN_AUDIENCE,
            issuer=TOKEN_ISSUER,
            options={"require": ["exp", "sub", "aud", "iss"]},
            leeway=LEEWAY_S,
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
    return bidder, int(claims["exp"])


class TokenCache:
    """Tokens already verified, so a bidder's token is checked once, not on every bid.

    Keyed by the whole ``Authorization`` value (scheme and token): only a token that verified
    maps to a bidder, and a refusal is never stored (it is verified again, and refused again,
    every time). An entry serves until the token's ``exp`` plus the same leeway verification
    allows, then the token is verified anew (and refused as expired). Bounded: past
    ``max_entries`` the oldest entry goes first, so memory stays under about 300 bytes per
    entry (20 MB at the default). Used by the gateway's bid handling for REST and bidder
    sockets; ``clock`` is for the tests.
    """

    def __init__(
        self,
        secret: str,
        max_entries: int = 65_536,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1:
            raise ValueError("a token cache needs room for at least one token")
        self._secret = secret
        self._max = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[str, float]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def bidder_from_header(self, authorization: str | None) -> str:
        """As :func:`bidder_from_header`, answered from the cache when the token is in it."""
        if authorization is not None:
            hit = self._entries.get(authorization)
            if hit is not None:
                if self._clock() < hit[1]:
                    return hit[0]
                del self._entries[authorization]
        if not authorization:
            raise AuthError("missing_token", "send Authorization: Bearer <token>")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("malformed_token", "the Authorization header must be 'Bearer <token>'")
        bidder, exp = verify_claims(self._secret, token.strip())
        if len(self._entries) >= self._max:
            del self._entries[next(iter(self._entries))]
        # Keyed by the whole header: the next request's header is looked up without parsing.
        self._entries[authorization] = (bidder, exp + LEEWAY_S)
        return bidder
