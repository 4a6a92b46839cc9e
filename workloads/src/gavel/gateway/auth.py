"""Bidder tokens: JWTs signed by the identity provider with ES256 or EdDSA, verified against its
published public keys (:mod:`gavel.gateway.jwks`). Pure functions and the bounded cache.

The key is chosen by the token's ``kid``; the algorithm is the key's own (fixed by its type in
:mod:`gavel.gateway.jwks`), and the token's ``alg`` must name it, so a token cannot pick
``none``, ``HS256`` with a public key as the secret, or any algorithm the key was not made for.
``iss`` must be the configured issuer, ``aud`` :data:`TOKEN_AUDIENCE` (a token the same provider
issued to another application does not bid), ``exp`` is required. ``sub`` is the bidder id.
Used by the gateway's bid handling for every request; gateways never hold a signing key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

import jwt

from gavel import keys
from gavel.gateway.jwks import ALGORITHMS, PublicKey
from gavel.gateway.settings import TOKEN_AUDIENCE

LEEWAY_S = 5
"""Clock skew forgiven on ``exp`` (and ``nbf``), by verification and by the cache alike."""

MAX_TOKEN_CHARS = 4096
"""Far above any bidder token (~300 characters); longer ones are refused before parsing."""

KeySource = Callable[[], Mapping[str, PublicKey]]
"""The keys held right now (a refresh swaps the mapping, so it is read per verification)."""


class AuthError(Exception):
    """Why a token was refused: ``code`` is stable (problem type), ``detail`` is for people."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class UnknownKeyError(AuthError):
    """The token names a ``kid`` we hold no key for: maybe one just published (fetch again)."""

    def __init__(self, kid: str) -> None:
        super().__init__("invalid_token", f"the token's key {kid[:64]!r} is not known")
        self.kid = kid


def split_header(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; raises AuthError."""
    if not authorization:
        raise AuthError("missing_token", "send Authorization: Bearer <token>")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("malformed_token", "the Authorization header must be 'Bearer <token>'")
    return token.strip()


def _key_for(keyset: Mapping[str, PublicKey], token: str) -> PublicKey:
    if len(token) > MAX_TOKEN_CHARS:
        raise AuthError("invalid_token", "the token is too long")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise AuthError("invalid_token", f"the token is not a JWT: {exc}") from exc
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in ALGORITHMS:
        raise AuthError("invalid_token", f"tokens must be signed with one of {list(ALGORITHMS)}")
    if not isinstance(kid, str) or not kid:
        raise AuthError("invalid_token", "the token names no key (kid)")
    key = keyset.get(kid)
    if key is None:
        raise UnknownKeyError(kid)
    if key.alg != alg:
        raise AuthError("invalid_token", f"key {kid!r} verifies {key.alg}, not {alg}")
    return key


def verify_claims(keyset: Mapping[str, PublicKey], issuer: str, token: str) -> tuple[str, int, str]:
    """The bidder id, ``exp`` and ``kid`` of a valid token; raises AuthError saying why not."""
    key = _key_for(keyset, token)
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[key.alg],
            audience=TOKEN_AUDIENCE,
            issuer=issuer,
            options={"require": ["exp", "sub", "aud", "iss"]},
            leeway=LEEWAY_S,
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("token_expired", "the token has expired; get a new one") from exc
    except jwt.InvalidAudienceError as exc:
        raise AuthError("invalid_token", "the token is not meant for bidding") from exc
    except jwt.InvalidIssuerError as exc:
        raise AuthError(
            "invalid_token", "the token was not issued by our identity provider"
        ) from exc
    except jwt.InvalidSignatureError as exc:
        raise AuthError("invalid_token", "the token's signature does not verify") from exc
    except jwt.PyJWTError as exc:
        raise AuthError("invalid_token", f"the token is not valid: {exc}") from exc
    bidder = claims["sub"]
    if not isinstance(bidder, str) or not keys.BIDDER_ID_PATTERN.match(bidder):
        raise AuthError("invalid_token", "the token's subject is not a valid bidder id")
    return bidder, int(claims["exp"]), key.kid


def verify(keyset: Mapping[str, PublicKey], issuer: str, token: str) -> str:
    """The bidder id of a valid token; raises AuthError saying what is wrong."""
    return verify_claims(keyset, issuer, token)[0]


class TokenCache:
    """Tokens already verified, so a bidder's token is checked once, not on every bid.

    Keyed by the whole ``Authorization`` value (scheme and token): only a token that verified
    maps to a bidder, and a refusal is never stored (it is verified again, and refused again,
    every time). An entry serves until the token's ``exp`` plus the same leeway verification
    allows, then the token is verified anew (and refused as expired), or until its key leaves
    the JWKS: :meth:`forget_keys`, called by the key set when a fetch no longer lists a key,
    drops every entry verified with it, so a removed key stops admitting tokens within one
    JWKS refresh interval. Bounded: past ``max_entries`` the oldest entry goes first, so memory
    stays under about 300 bytes per entry (20 MB at the default). Used by the gateway's bid
    handling for REST and bidder sockets; ``clock`` is for the tests.
    """

    def __init__(
        self,
        keyset: KeySource,
        issuer: str,
        max_entries: int = 65_536,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1:
            raise ValueError("a token cache needs room for at least one token")
        self._keyset = keyset
        self._issuer = issuer
        self._max = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[str, float, str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def bidder_from_header(self, authorization: str | None) -> str:
        """The bidder of an ``Authorization`` header, from the cache when the token is in it;
        raises AuthError (:class:`UnknownKeyError` when the token's key is not held)."""
        if authorization is not None:
            hit = self._entries.get(authorization)
            if hit is not None:
                if self._clock() < hit[1]:
                    return hit[0]
                del self._entries[authorization]
        bidder, exp, kid = verify_claims(self._keyset(), self._issuer, split_header(authorization))
        assert authorization is not None  # split_header refused a missing header
        if len(self._entries) >= self._max:
            del self._entries[next(iter(self._entries))]
        # Keyed by the whole header: the next request's header is looked up without parsing.
        self._entries[authorization] = (bidder, exp + LEEWAY_S, kid)
        return bidder

    def forget_keys(self, kids: Iterable[str]) -> int:
        """Drop every entry verified with one of ``kids``; returns how many went."""
        gone = set(kids)
        stale = [h for h, entry in self._entries.items() if entry[2] in gone]
        for header in stale:
            del self._entries[header]
        return len(stale)
