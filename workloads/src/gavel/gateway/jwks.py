"""Bidder-token public keys: a JWKS document parsed into verification keys, and when to fetch
it again. Pure functions.

Gateways hold only public keys; the identity provider that signs bidder tokens publishes them
as a JWKS (RFC 7517). Each usable key names its ``kid`` and, by its type and curve, the one
algorithm it verifies: an EC P-256 key ES256, an Ed25519 key EdDSA. Nothing else is accepted
(RSA, symmetric ``oct`` keys, other curves are skipped), so no key can be used with an
algorithm it was not made for. :mod:`gavel.gateway.auth` verifies with these keys;
:mod:`gavel.gateway.keyset` fetches the document and asks :class:`RefreshPolicy` when.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jwt.algorithms import ECAlgorithm, OKPAlgorithm

ALGORITHMS: tuple[str, ...] = ("ES256", "EdDSA")
"""The only algorithms a bidder token may use: asymmetric, fixed in code, never read from
configuration or the token (so never ``HS256`` or ``none``)."""

MAX_KEYS = 32
"""More keys than any rotation needs; a document with more is refused (it is not ours)."""


@dataclass(frozen=True, slots=True)
class PublicKey:
    """One verification key: its ``kid``, the one algorithm it verifies, the key object."""

    kid: str
    alg: str
    key: Any


class JwksError(ValueError):
    """The document is not a JWKS we can use; the message says why."""


def _algorithm_of(jwk: dict[str, Any]) -> str | None:
    """The algorithm a JWK verifies, from its type and curve; None: not one we accept."""
    kty, crv = jwk.get("kty"), jwk.get("crv")
    alg = "ES256" if (kty, crv) == ("EC", "P-256") else None
    alg = "EdDSA" if (kty, crv) == ("OKP", "Ed25519") else alg
    if alg is None or jwk.get("use", "sig") != "sig":
        return None
    # A key that names an algorithm must name the one its type implies.
    return alg if jwk.get("alg", alg) == alg else None


def parse(document: bytes | str) -> dict[str, PublicKey]:
    """The usable keys of a JWKS document by ``kid``; raises JwksError if it is no JWKS.

    Keys we cannot use (other types, no ``kid``, private parts present) are skipped, so an
    identity provider may publish keys for other clients in the same document.
    """
    try:
        doc = json.loads(document)
    except ValueError as exc:
        raise JwksError(f"the JWKS is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise JwksError('the JWKS must be an object with a "keys" list')
    if len(doc["keys"]) > MAX_KEYS:
        raise JwksError(f"the JWKS has {len(doc['keys'])} keys, more than {MAX_KEYS}")
    keys: dict[str, PublicKey] = {}
    for jwk in doc["keys"]:
        if not isinstance(jwk, dict) or "d" in jwk:
            continue  # a private key has no business in a public document: never load it
        kid, alg = jwk.get("kid"), _algorithm_of(jwk)
        if not isinstance(kid, str) or not kid or alg is None or kid in keys:
            continue
        try:
            key = (ECAlgorithm.from_jwk if alg == "ES256" else OKPAlgorithm.from_jwk)(jwk)
        except Exception:  # noqa: BLE001, S112 - PyJWT raises several types for a bad key
            continue
        keys[kid] = PublicKey(kid, alg, key)
    return keys


@dataclass(frozen=True, slots=True)
class RefreshPolicy:
    """When a gateway fetches the JWKS again.

    On a schedule (every ``interval_s``: the longest a removed key keeps verifying, cached
    tokens included), and early when a token names a ``kid`` we do not hold (a key just
    published), but never sooner than ``min_gap_s`` after the previous fetch, so a flood of
    tokens with random kids costs the issuer at most one request per ``min_gap_s`` per
    gateway process.
    """

    interval_s: float = 300.0
    min_gap_s: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.min_gap_s <= self.interval_s:
            raise ValueError("a JWKS refresh needs 0 < min_gap_s <= interval_s")

    def due(self, now: float, last_fetch: float | None) -> bool:
        """A scheduled fetch is due (or there never was one)."""
        return last_fetch is None or now - last_fetch >= self.interval_s

    def may_fetch_for_unknown_kid(self, now: float, last_fetch: float | None) -> bool:
        """An unknown ``kid`` may trigger a fetch now."""
        return last_fetch is None or now - last_fetch >= self.min_gap_s
